//! Synthetic, photo-like street scenes: sky, haze, mountains, buildings with
//! windows, signs in a bitmap font, people, vehicles, smoke and fire. Nothing
//! here depicts real people or places beyond a loose, generic resemblance.

use crate::canvas::{Canvas, Rgb, clamp01, mix, rgb, scale};
use crate::font;
use crate::noise::{self, Field};
use crate::rng::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tod {
    Morning,
    Midday,
    Afternoon,
    Evening,
    Winter,
    Night,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landmark {
    GateWalls,
    School,
    Mosque { minarets: u8, dome: [u8; 3] },
    Hospital,
    OldStreet,
    Embassy,
    Hotel,
    Ministry,
    Governor,
    ConcertHall,
}

#[derive(Debug, Clone, Copy)]
pub struct SmokeSpec {
    /// Horizontal position of the source as a fraction of the width.
    pub x: f32,
    /// Plume height as a fraction of the image height.
    pub size: f32,
    /// 0 = pale grey, 1 = black.
    pub dark: f32,
    /// Sideways drift at the top, as a fraction of the width.
    pub drift: f32,
    pub fire: bool,
}

#[derive(Debug, Clone)]
pub struct Scene {
    pub seed: u64,
    pub w: usize,
    pub h: usize,
    pub tod: Tod,
    pub landmark: Landmark,
    pub sign: String,
    pub shop_signs: Vec<String>,
    pub mountains: bool,
    pub snow: bool,
    pub smoke: SmokeSpec,
    pub crowd: usize,
    pub wires: bool,
    pub trees: bool,
}

/// Where things ended up, for animating smoke over a pre-rendered world.
#[derive(Debug, Clone)]
pub struct Plume {
    pub bx: f32,
    pub by: f32,
    pub height: f32,
    pub r0: f32,
    pub r1: f32,
    pub drift: f32,
    pub dark: f32,
    pub fire: bool,
    pub seed: u32,
    pub sun_left: bool,
    pub night: bool,
}

#[derive(Debug, Clone, Copy)]
struct Light {
    tint: Rgb,
    side: f32,
    sun_left: bool,
    night: bool,
}

impl Light {
    fn lit(&self, c: Rgb, face: f32) -> Rgb {
        [
            c[0] * self.tint[0] * face,
            c[1] * self.tint[1] * face,
            c[2] * self.tint[2] * face,
        ]
    }
}

fn palette(tod: Tod) -> (Rgb, Rgb, Light) {
    let (zen, hor, tint, side, sun_left) = match tod {
        Tod::Morning => (
            rgb(96, 142, 204),
            rgb(228, 214, 196),
            [1.0, 0.95, 0.86],
            0.62,
            false,
        ),
        Tod::Midday => (
            rgb(74, 128, 206),
            rgb(200, 210, 222),
            [1.04, 1.02, 0.98],
            0.72,
            true,
        ),
        Tod::Afternoon => (
            rgb(84, 132, 200),
            rgb(214, 208, 194),
            [1.0, 0.96, 0.9],
            0.66,
            true,
        ),
        Tod::Evening => (
            rgb(88, 116, 172),
            rgb(242, 192, 136),
            [1.02, 0.86, 0.68],
            0.55,
            true,
        ),
        Tod::Winter => (
            rgb(128, 146, 170),
            rgb(204, 204, 204),
            [0.9, 0.92, 0.95],
            0.78,
            true,
        ),
        Tod::Night => (
            rgb(8, 10, 20),
            rgb(44, 36, 42),
            [0.17, 0.18, 0.25],
            0.75,
            true,
        ),
    };
    (
        zen,
        hor,
        Light {
            tint,
            side,
            sun_left,
            night: tod == Tod::Night,
        },
    )
}

struct Ctx<'a> {
    c: &'a mut Canvas,
    rng: Rng,
    light: Light,
    sky_hor: Rgb,
    horizon: f32,
    /// Pixels per metre at the landmark's distance.
    m: f32,
    w: f32,
    h: f32,
}

/// Render the static world (everything except the smoke plume).
pub fn render_world(s: &Scene) -> (Canvas, Plume) {
    let (zen, hor, light) = palette(s.tod);
    let mut canvas = Canvas::new(s.w, s.h, zen);
    let w = s.w as f32;
    let h = s.h as f32;
    let portrait = h > w;
    let horizon = h * if portrait { 0.56 } else { 0.5 };
    let ref_dim = w.min(h);
    let m = ref_dim * 0.026;
    let mut cx = Ctx {
        c: &mut canvas,
        rng: Rng::new(s.seed),
        light,
        sky_hor: hor,
        horizon,
        m,
        w,
        h,
    };
    sky(&mut cx, zen, hor, s.seed as u32);
    if s.mountains {
        mountains(&mut cx, s.snow, s.seed as u32);
    }
    far_city(&mut cx);
    let base = horizon + 1.6 * m;
    ground(&mut cx, base, s.snow);
    let roof = landmark(&mut cx, s, base);
    if s.trees {
        let n = cx.rng.int(2, 5);
        for _ in 0..n {
            let side = if cx.rng.chance(0.5) { 0.0 } else { 0.72 };
            let x = (side + cx.rng.range(0.04, 0.24)) * w;
            let th = cx.rng.range(4.0, 7.0) * m;
            let tb = base + cx.rng.range(0.0, 0.6) * m;
            tree(&mut cx, x, tb, th);
        }
    }
    side_buildings(&mut cx, s, base);
    if s.wires {
        wires(&mut cx);
    }
    street_life(&mut cx, s, base);
    let plume = Plume {
        bx: s.smoke.x * w,
        by: roof,
        height: s.smoke.size * h,
        r0: ref_dim * 0.035,
        r1: ref_dim * 0.16 * (0.6 + s.smoke.size),
        drift: s.smoke.drift * w,
        dark: s.smoke.dark,
        fire: s.smoke.fire,
        seed: (s.seed as u32).wrapping_mul(7).wrapping_add(3),
        sun_left: light.sun_left,
        night: light.night,
    };
    (canvas, plume)
}

/// A complete still: world, smoke, fire light and camera finish.
pub fn render_still(s: &Scene) -> Canvas {
    let (mut c, plume) = render_world(s);
    draw_plume(&mut c, &plume, 0.0, 0.0, 1.0, 0.0);
    if plume.fire {
        fire_light(&mut c, &plume, 0.0, 0.0, 1.0);
    }
    camera_finish(&c, true)
}

fn sky(cx: &mut Ctx, zen: Rgb, hor: Rgb, seed: u32) {
    let horizon = cx.horizon;
    let w = cx.w;
    let clouds = Field::new(cx.c.w, cx.c.h, 6.0, |x, y| {
        noise::fbm(x / (w * 0.18), y / (w * 0.05), seed ^ 0xC10D, 5)
    });
    let night = cx.light.night;
    let sun_x = if cx.light.sun_left {
        w * 0.12
    } else {
        w * 0.88
    };
    let sun_y = horizon * 0.55;
    let glow_r = w * 0.35;
    cx.c.map(|x, y, _| {
        let fy = y as f32;
        let t = clamp01(fy / horizon);
        let t2 = t * t;
        let mut col = mix(zen, hor, t2 * 0.85 + t * 0.15);
        // Thin high cloud, stronger near the horizon.
        let n = clouds.sample(x as f32, fy);
        let cl = clamp01((n - 0.52) * 3.0) * (0.25 + 0.5 * t);
        let cloud_col = if night {
            rgb(30, 28, 34)
        } else {
            mix(hor, rgb(250, 250, 250), 0.5)
        };
        col = mix(col, cloud_col, cl * 0.6);
        if !night {
            let dx = (x as f32 - sun_x) / glow_r;
            let dy = (fy - sun_y) / glow_r;
            let g = 1.0 / (1.0 + 6.0 * (dx * dx + dy * dy));
            col = mix(col, rgb(255, 244, 220), g * 0.35);
        }
        col
    });
}

fn mountains(cx: &mut Ctx, snow: bool, seed: u32) {
    let horizon = cx.horizon;
    let w = cx.w;
    let layers = [
        (0.5f32, 0.62f32, rgb(118, 112, 118)),
        (0.3, 0.4, rgb(104, 96, 92)),
    ];
    for (li, (amp, haze, base_col)) in layers.iter().enumerate() {
        let amp_px = amp * horizon * 0.9;
        let s = seed.wrapping_add(li as u32 * 77);
        let col = mix(cx.light.lit(*base_col, 1.0), cx.sky_hor, *haze);
        let snow_col = mix(
            cx.light.lit(rgb(236, 238, 244), 1.0),
            cx.sky_hor,
            haze * 0.7,
        );
        for x in 0..cx.c.w {
            let fx = x as f32;
            let ridge = noise::fbm1(fx / (w * 0.22) + li as f32 * 9.0, s, 6);
            let top = horizon - amp_px * (0.25 + ridge * 1.1);
            let ys = top.floor().max(0.0) as usize;
            let ye = (horizon + 2.0) as usize;
            for y in ys..ye.min(cx.c.h) {
                let fy = y as f32;
                let cov = clamp01(fy + 1.0 - top);
                let depth = clamp01((fy - top) / amp_px.max(1.0));
                let tex = noise::value(fx / 7.0, fy / 5.0, s ^ 0x51);
                let mut c = scale(col, 0.92 + 0.16 * tex - 0.08 * depth);
                if snow && depth < 0.22 && ridge > 0.45 {
                    let sn = clamp01((0.22 - depth) * 9.0) * clamp01((ridge - 0.45) * 8.0);
                    c = mix(c, snow_col, sn * (0.6 + 0.4 * tex));
                }
                // Aerial haze thickens toward the valley floor.
                c = mix(c, cx.sky_hor, depth * 0.35);
                cx.c.blend(x, y, c, cov);
            }
        }
    }
}

fn far_city(cx: &mut Ctx) {
    let y0 = cx.horizon + 0.5 * cx.m;
    let mut x = -10.0;
    while x < cx.w {
        let bw = cx.rng.range(1.5, 5.0) * cx.m;
        let bh = cx.rng.range(0.8, 3.2) * cx.m;
        let shade = cx.rng.range(0.75, 1.0);
        let base = mix(rgb(178, 164, 146), cx.sky_hor, 0.45);
        let col = scale(cx.light.lit(base, 1.0), shade);
        cx.c.fill_rect(x, y0 - bh, x + bw, y0 + 0.6 * cx.m, col, 1.0);
        // Tiny windows.
        let wc = if cx.light.night {
            rgb(200, 170, 90)
        } else {
            scale(col, 0.7)
        };
        let mut wy = y0 - bh + 0.35 * cx.m;
        while wy < y0 - 0.2 * cx.m {
            let mut wx = x + 0.3 * cx.m;
            while wx < x + bw - 0.3 * cx.m {
                if !cx.light.night || cx.rng.chance(0.3) {
                    cx.c.fill_rect(wx, wy, wx + 0.25 * cx.m, wy + 0.3 * cx.m, wc, 0.8);
                }
                wx += 0.6 * cx.m;
            }
            wy += 0.7 * cx.m;
        }
        x += bw + cx.rng.range(0.0, 1.0) * cx.m;
    }
}

fn ground(cx: &mut Ctx, base: f32, snow: bool) {
    let horizon = cx.horizon;
    let (w, h) = (cx.w, cx.h);
    let vx = w * 0.5;
    let light = cx.light;
    let seed = cx.rng.next_u64() as u32;
    let dust = Field::new(cx.c.w, cx.c.h, 3.0, |x, y| {
        noise::fbm(x / 40.0, y / 14.0, seed, 4)
    });
    let asphalt = rgb(92, 90, 88);
    let dirt = rgb(168, 150, 124);
    let snow_col = rgb(222, 226, 232);
    let ys = base.floor() as usize;
    for y in ys..cx.c.h {
        let fy = y as f32 + 0.5;
        let depth = (fy - horizon).max(1.0);
        // Road edges converge on the vanishing point.
        let half = depth * 2.2;
        let kerb = depth * 3.0;
        for x in 0..cx.c.w {
            let fx = x as f32 + 0.5;
            let d = (fx - vx).abs();
            let n = dust.sample(fx, fy);
            let mut c = if d < half {
                mix(asphalt, dirt, 0.25 + 0.35 * n)
            } else if d < kerb {
                mix(rgb(150, 146, 138), dirt, 0.3 * n)
            } else {
                mix(dirt, rgb(140, 124, 100), n)
            };
            if snow && d >= half {
                c = mix(c, snow_col, clamp01((n - 0.4) * 3.0) * 0.8);
            }
            // Faded lane marking.
            let lane = (d - depth * 0.02).abs() < depth * 0.012 && ((depth * 0.08) as i32) % 3 != 0;
            if lane && d < half {
                c = mix(c, rgb(210, 206, 190), 0.55);
            }
            let shade = 0.85 + 0.15 * clamp01((fy - base) / (h - base));
            let lit = light.lit(c, shade);
            let a = clamp01(fy - base + 0.5);
            cx.c.blend(x, y, lit, a);
        }
    }
}

/// Facade with a window grid, a shaded side wall and a parapet. Returns the
/// roof line.
#[allow(clippy::too_many_arguments)]
fn block(
    cx: &mut Ctx,
    x0: f32,
    x1: f32,
    base: f32,
    floors: u32,
    floor_h: f32,
    facade: Rgb,
    cols: u32,
    depth_right: bool,
) -> f32 {
    let m = cx.m;
    let top = base - floors as f32 * floor_h - 0.6 * m;
    let light = cx.light;
    let side_w = (x1 - x0) * 0.08;
    // Side wall as a parallelogram receding toward the vanishing point.
    let (sx0, sx1) = if depth_right {
        (x1, x1 + side_w)
    } else {
        (x0 - side_w, x0)
    };
    let rise = side_w * 0.12;
    let side_col = light.lit(facade, light.side * 0.9);
    if depth_right {
        cx.c.fill_poly(
            &[
                (sx0, top),
                (sx1, top + rise),
                (sx1, base - rise),
                (sx0, base),
            ],
            side_col,
            1.0,
        );
    } else {
        cx.c.fill_poly(
            &[
                (sx0, top + rise),
                (sx1, top),
                (sx1, base),
                (sx0, base - rise),
            ],
            side_col,
            1.0,
        );
    }
    // Facade with subtle weathering.
    let seed = cx.rng.next_u64() as u32;
    let front = light.lit(facade, 1.0);
    cx.c.shade_rect(x0, top, x1, base, |x, y| {
        let n = noise::fbm(x / 23.0, y / 31.0, seed, 3);
        let streak = noise::value(x / 5.0, y / 90.0, seed ^ 9);
        (scale(front, 0.9 + 0.14 * n - 0.05 * streak), 1.0)
    });
    // Parapet.
    cx.c.fill_rect(
        x0 - 0.15 * m,
        top - 0.25 * m,
        x1 + 0.15 * m,
        top + 0.2 * m,
        scale(front, 0.82),
        1.0,
    );
    // Floor slabs.
    for f in 1..floors {
        let y = base - f as f32 * floor_h;
        cx.c.fill_rect(x0, y - 0.12 * m, x1, y + 0.05 * m, scale(front, 0.86), 1.0);
    }
    // Windows.
    let cell = (x1 - x0) / cols as f32;
    let ww = cell * 0.52;
    let wh = floor_h * 0.5;
    for f in 0..floors {
        let fy = base - (f + 1) as f32 * floor_h + floor_h * 0.24;
        for k in 0..cols {
            let wx = x0 + cell * (k as f32 + 0.24);
            if f == 0 && k == cols / 2 {
                // Doorway.
                cx.c.fill_rect(
                    wx,
                    base - floor_h * 0.8,
                    wx + ww,
                    base,
                    scale(front, 0.25),
                    1.0,
                );
                continue;
            }
            window(cx, wx, fy, ww, wh);
        }
    }
    // Roof clutter: water tanks and a dish.
    let tanks = cx.rng.int(0, 3);
    for _ in 0..tanks {
        let tx = cx.rng.range(x0 + 0.5 * m, (x1 - 1.5 * m).max(x0 + 0.6 * m));
        let tw = cx.rng.range(0.7, 1.2) * m;
        let tc = cx.light.lit(
            *cx.rng
                .pick(&[rgb(40, 40, 44), rgb(210, 200, 180), rgb(60, 90, 140)]),
            1.0,
        );
        cx.c.fill_rect(tx, top - 0.25 * m - tw, tx + tw, top - 0.25 * m, tc, 1.0);
    }
    top - 0.25 * m
}

fn window(cx: &mut Ctx, x: f32, y: f32, w: f32, h: f32) {
    let light = cx.light;
    let frame = light.lit(rgb(70, 66, 60), 1.0);
    cx.c.fill_rect(
        x - 0.06 * cx.m,
        y - 0.06 * cx.m,
        x + w + 0.06 * cx.m,
        y + h + 0.06 * cx.m,
        frame,
        1.0,
    );
    let r = cx.rng.f32();
    let glass = if light.night {
        if r < 0.35 {
            rgb(236, 196, 110)
        } else {
            rgb(16, 16, 22)
        }
    } else if r < 0.12 {
        rgb(18, 16, 16) // broken or open
    } else if r < 0.3 {
        light.lit(
            *cx.rng
                .pick(&[rgb(180, 60, 60), rgb(200, 190, 150), rgb(70, 110, 150)]),
            1.0,
        )
    } else {
        mix(rgb(40, 52, 66), cx.sky_hor, 0.25)
    };
    let sky_hor = cx.sky_hor;
    cx.c.shade_rect(x, y, x + w, y + h, |_, yy| {
        let t = clamp01((yy - y) / h);
        // Sky reflection fading down the pane.
        (
            mix(glass, sky_hor, (1.0 - t) * if r < 0.3 { 0.05 } else { 0.3 }),
            1.0,
        )
    });
    // Mullion.
    cx.c.fill_rect(x + w * 0.47, y, x + w * 0.53, y + h, frame, 0.9);
}

#[allow(clippy::too_many_arguments)]
fn sign_board(cx: &mut Ctx, x: f32, y: f32, w: f32, h: f32, text: &str, bg: Rgb, fg: Rgb) {
    let light = cx.light;
    let (bg, fg) = if light.night {
        (scale(bg, 0.55), fg) // back-lit sign
    } else {
        (light.lit(bg, 1.0), light.lit(fg, 1.0))
    };
    cx.c.fill_rect(
        x - 2.0,
        y - 2.0,
        x + w + 2.0,
        y + h + 2.0,
        scale(bg, 0.6),
        1.0,
    );
    cx.c.fill_rect(x, y, x + w, y + h, bg, 1.0);
    let unit = font::text_width(text, 1.0);
    let sc = (w * 0.88 / unit)
        .min(h * 0.62 / font::GLYPH_H as f32)
        .max(1.0);
    let tw = font::text_width(text, sc);
    let th = font::text_height(sc);
    cx.c.text(x + (w - tw) * 0.5, y + (h - th) * 0.5, sc, text, fg, 1.0);
}

fn dome(cx: &mut Ctx, cx0: f32, base: f32, r: f32, col: Rgb) {
    let light = cx.light;
    let lit = light.lit(col, 1.0);
    let shadow = light.lit(col, light.side);
    let sun_left = light.sun_left;
    // Drum.
    cx.c.fill_rect(
        cx0 - r * 0.8,
        base - r * 0.35,
        cx0 + r * 0.8,
        base,
        light.lit(rgb(220, 212, 196), 0.95),
        1.0,
    );
    let top = base - r * 0.35;
    cx.c.shade_rect(cx0 - r, top - r * 1.1, cx0 + r, top, |x, y| {
        let dx = (x - cx0) / r;
        let dy = (y - top) / (r * 1.1);
        let d = dx * dx + dy * dy;
        let a = clamp01((1.0 - d) * r * 0.5);
        let side = if sun_left { -dx } else { dx };
        let t = clamp01(0.5 + side * 0.6 - dy * 0.2);
        (mix(shadow, lit, t), a)
    });
    // Finial with crescent.
    cx.c.fill_rect(
        cx0 - r * 0.03,
        top - r * 1.45,
        cx0 + r * 0.03,
        top - r * 1.08,
        rgb(170, 140, 60),
        1.0,
    );
    cx.c.fill_circle(
        cx0,
        top - r * 1.5,
        r * 0.09,
        light.lit(rgb(200, 170, 70), 1.0),
        1.0,
    );
}

fn minaret(cx: &mut Ctx, x: f32, base: f32, height: f32, width: f32, col: Rgb) {
    let light = cx.light;
    let (lx, rx) = (x - width * 0.5, x + width * 0.5);
    let lit = light.lit(col, 1.0);
    let sh = light.lit(col, light.side);
    let sun_left = light.sun_left;
    cx.c.shade_rect(lx, base - height, rx, base, |xx, _| {
        let t = (xx - lx) / width;
        let t = if sun_left { 1.0 - t } else { t };
        (mix(lit, sh, t * t), 1.0)
    });
    // Balconies.
    for k in [0.55f32, 0.82] {
        let y = base - height * k;
        cx.c.fill_rect(
            lx - width * 0.3,
            y - width * 0.25,
            rx + width * 0.3,
            y,
            scale(lit, 0.85),
            1.0,
        );
    }
    // Conical cap.
    let top = base - height;
    cx.c.fill_poly(
        &[
            (lx - width * 0.1, top),
            (x, top - width * 1.8),
            (rx + width * 0.1, top),
        ],
        light.lit(rgb(60, 140, 130), 1.0),
        1.0,
    );
}

fn t_walls(cx: &mut Ctx, base: f32) -> f32 {
    let m = cx.m;
    let light = cx.light;
    let mut x = -m;
    let top_avg = base - 3.6 * m;
    while x < cx.w + m {
        let sw = cx.rng.range(1.1, 1.3) * m;
        let sh = cx.rng.range(3.3, 3.8) * m;
        let tone = cx.rng.range(0.85, 1.05);
        let col = light.lit(scale(rgb(170, 166, 158), tone), 1.0);
        let seed = cx.rng.next_u64() as u32;
        cx.c.shade_rect(x, base - sh, x + sw, base, |xx, yy| {
            let n = noise::fbm(xx / 9.0, yy / 13.0, seed, 3);
            (scale(col, 0.86 + 0.2 * n), 1.0)
        });
        cx.c.fill_rect(
            x + sw - 0.08 * m,
            base - sh,
            x + sw,
            base,
            scale(col, 0.55),
            1.0,
        );
        // Lifting loops on top.
        cx.c.stroke_circle(
            x + sw * 0.5,
            base - sh - 0.1 * m,
            0.12 * m,
            0.05 * m,
            scale(col, 0.5),
            1.0,
        );
        x += sw;
    }
    // Coiled razor wire along the top.
    let wire = light.lit(rgb(60, 60, 62), 1.0);
    let mut wx = 0.0;
    while wx < cx.w {
        cx.c.stroke_circle(wx, top_avg - 0.7 * m, 0.45 * m, 0.05 * m, wire, 0.8);
        wx += 0.35 * m;
    }
    top_avg - 1.2 * m
}

/// Draw the incident's landmark; returns the y where the smoke rises from.
fn landmark(cx: &mut Ctx, s: &Scene, base: f32) -> f32 {
    let (w, m) = (cx.w, cx.m);
    let sx = s.smoke.x * w;
    let (x0, x1) = (w * 0.18, w * 0.82);
    match s.landmark {
        Landmark::GateWalls => {
            // Terminal buildings far back, then blast walls and a canal.
            block(
                cx,
                w * 0.55,
                w * 0.9,
                base - 0.5 * m,
                2,
                3.0 * m,
                rgb(196, 190, 176),
                9,
                false,
            );
            let top = t_walls(cx, base);
            let board_w = 9.0 * m;
            sign_board(
                cx,
                w * 0.3 - board_w * 0.5,
                base - 3.0 * m,
                board_w,
                1.2 * m,
                &s.sign,
                rgb(24, 70, 40),
                rgb(240, 240, 230),
            );
            // Watch tower.
            let tx = w * 0.78;
            cx.c.fill_rect(
                tx - 0.15 * m,
                base - 7.0 * m,
                tx + 0.15 * m,
                base,
                cx.light.lit(rgb(80, 76, 70), 1.0),
                1.0,
            );
            cx.c.fill_rect(
                tx - 1.0 * m,
                base - 8.2 * m,
                tx + 1.0 * m,
                base - 6.8 * m,
                cx.light.lit(rgb(120, 112, 96), 1.0),
                1.0,
            );
            // Canal in front of the walls.
            let water = mix(cx.light.lit(rgb(70, 74, 52), 1.0), cx.sky_hor, 0.15);
            cx.c.fill_rect(0.0, base + 0.2 * m, w, base + 1.4 * m, water, 1.0);
            top
        }
        Landmark::School | Landmark::Ministry | Landmark::Governor | Landmark::Hospital => {
            let (floors, col, cols) = match s.landmark {
                Landmark::School => (3, rgb(214, 196, 160), 12),
                Landmark::Ministry => (4, rgb(222, 216, 204), 14),
                Landmark::Governor => (3, rgb(230, 224, 212), 11),
                _ => (5, rgb(236, 234, 228), 16),
            };
            // A compound wall in front with the building behind it.
            let bbase = base - 0.6 * m;
            let top = block(cx, x0, x1, bbase, floors, 3.2 * m, col, cols, sx > w * 0.5);
            if s.landmark == Landmark::Governor {
                // Arched portico.
                let pc = cx.light.lit(rgb(236, 230, 218), 1.02);
                let px0 = w * 0.44;
                let px1 = w * 0.56;
                cx.c.fill_rect(px0, bbase - 4.5 * m, px1, bbase, pc, 1.0);
                for k in 0..3 {
                    let ax = px0 + (px1 - px0) * (k as f32 + 0.5) / 3.0;
                    let aw = (px1 - px0) / 3.0 * 0.34;
                    cx.c.fill_rect(
                        ax - aw,
                        bbase - 3.0 * m,
                        ax + aw,
                        bbase,
                        scale(pc, 0.3),
                        1.0,
                    );
                    cx.c.fill_circle(ax, bbase - 3.0 * m, aw, scale(pc, 0.3), 1.0);
                }
            }
            if s.landmark == Landmark::Hospital {
                // Red crescent on a white panel.
                let cxp = w * 0.5;
                let cyp = top - 1.6 * m;
                cx.c.fill_rect(
                    cxp - 1.6 * m,
                    cyp - 1.5 * m,
                    cxp + 1.6 * m,
                    cyp + 1.5 * m,
                    cx.light.lit(rgb(245, 245, 245), 1.0),
                    1.0,
                );
                cx.c.fill_circle(cxp, cyp, 1.1 * m, cx.light.lit(rgb(200, 30, 36), 1.0), 1.0);
                cx.c.fill_circle(
                    cxp + 0.45 * m,
                    cyp - 0.15 * m,
                    0.9 * m,
                    cx.light.lit(rgb(245, 245, 245), 1.0),
                    1.0,
                );
            }
            if matches!(s.landmark, Landmark::Ministry | Landmark::Governor) {
                // Flag pole.
                let fx = w * 0.5;
                cx.c.fill_rect(
                    fx - 0.06 * m,
                    top - 5.0 * m,
                    fx + 0.06 * m,
                    top,
                    cx.light.lit(rgb(200, 200, 200), 1.0),
                    1.0,
                );
                cx.c.fill_rect(
                    fx + 0.06 * m,
                    top - 5.0 * m,
                    fx + 2.4 * m,
                    top - 3.6 * m,
                    cx.light.lit(rgb(240, 240, 236), 1.0),
                    1.0,
                );
                cx.c.text(
                    fx + 0.35 * m,
                    top - 4.6 * m,
                    (m * 0.07).max(1.0),
                    "......",
                    cx.light.lit(rgb(30, 30, 30), 1.0),
                    1.0,
                );
            }
            // Compound wall with the sign.
            let wall = cx.light.lit(rgb(200, 190, 170), 1.0);
            cx.c.fill_rect(0.0, base - 2.4 * m, w, base + 0.3 * m, wall, 1.0);
            cx.c.fill_rect(
                0.0,
                base - 2.55 * m,
                w,
                base - 2.3 * m,
                scale(wall, 0.8),
                1.0,
            );
            let gate_x = w * 0.5;
            cx.c.fill_rect(
                gate_x - 1.8 * m,
                base - 2.2 * m,
                gate_x + 1.8 * m,
                base + 0.3 * m,
                cx.light.lit(rgb(50, 70, 60), 1.0),
                1.0,
            );
            let bw = (font::text_width(&s.sign, 1.0) * 0.16 * m).min(w * 0.7);
            let bg = match s.landmark {
                Landmark::School => rgb(20, 60, 130),
                Landmark::Hospital => rgb(160, 24, 30),
                _ => rgb(26, 70, 44),
            };
            sign_board(
                cx,
                w * 0.5 - bw * 0.5,
                base - 5.0 * m,
                bw,
                1.3 * m,
                &s.sign,
                bg,
                rgb(246, 244, 236),
            );
            top
        }
        Landmark::Mosque { minarets, dome: dc } => {
            let col = rgb(228, 220, 200);
            let bbase = base - 0.2 * m;
            let hx0 = w * 0.3;
            let hx1 = w * 0.7;
            let top = bbase - 6.0 * m;
            let light = cx.light;
            let seed = cx.rng.next_u64() as u32;
            let front = light.lit(col, 1.0);
            cx.c.shade_rect(hx0, top, hx1, bbase, |x, y| {
                let n = noise::fbm(x / 20.0, y / 28.0, seed, 3);
                (scale(front, 0.9 + 0.14 * n), 1.0)
            });
            // Arched openings.
            let n = 7;
            for k in 0..n {
                let ax = hx0 + (hx1 - hx0) * (k as f32 + 0.5) / n as f32;
                let aw = (hx1 - hx0) / n as f32 * 0.28;
                let dark = scale(front, 0.28);
                cx.c.fill_rect(ax - aw, bbase - 3.4 * m, ax + aw, bbase, dark, 1.0);
                cx.c.fill_circle(ax, bbase - 3.4 * m, aw, dark, 1.0);
            }
            // Tile band.
            cx.c.fill_rect(
                hx0,
                top + 0.4 * m,
                hx1,
                top + 1.0 * m,
                light.lit(rgb(40, 110, 140), 1.0),
                1.0,
            );
            dome(
                cx,
                w * 0.5,
                top,
                (hx1 - hx0) * 0.2,
                rgb(dc[0], dc[1], dc[2]),
            );
            let mh = 14.0 * m;
            if minarets >= 1 {
                minaret(cx, hx0 - 0.8 * m, bbase, mh, 1.1 * m, col);
            }
            if minarets >= 2 {
                minaret(cx, hx1 + 0.8 * m, bbase, mh, 1.1 * m, col);
            }
            let bw = (font::text_width(&s.sign, 1.0) * 0.13 * m).min(w * 0.5);
            sign_board(
                cx,
                w * 0.5 - bw * 0.5,
                top + 1.3 * m,
                bw,
                1.0 * m,
                &s.sign,
                rgb(20, 90, 60),
                rgb(250, 236, 170),
            );
            top
        }
        Landmark::OldStreet => {
            // Dense, narrow-fronted old houses with balconies.
            let mut x = -0.5 * m;
            let mut roof = base;
            let mut i = 0;
            while x < w {
                let bw = cx.rng.range(5.0, 8.0) * m;
                let floors = cx.rng.int(3, 5) as u32;
                let col = *cx.rng.pick(&[
                    rgb(176, 150, 120),
                    rgb(200, 186, 160),
                    rgb(150, 128, 110),
                    rgb(196, 170, 140),
                ]);
                let t = block(cx, x, x + bw, base, floors, 2.9 * m, col, 3, i % 2 == 0);
                if (x..x + bw).contains(&sx) {
                    roof = t;
                }
                // Wooden balcony.
                let by = base - 2.0 * 2.9 * m;
                cx.c.fill_rect(
                    x + 0.5 * m,
                    by - 0.2 * m,
                    x + bw - 0.5 * m,
                    by + 1.0 * m,
                    cx.light.lit(rgb(96, 64, 40), 1.0),
                    1.0,
                );
                for k in 0..8 {
                    let px = x + 0.5 * m + (bw - 1.0 * m) * k as f32 / 7.0;
                    cx.c.fill_rect(
                        px,
                        by - 1.1 * m,
                        px + 0.12 * m,
                        by,
                        cx.light.lit(rgb(80, 52, 32), 1.0),
                        1.0,
                    );
                }
                // Shop shutter.
                cx.c.fill_rect(
                    x + 0.6 * m,
                    base - 2.4 * m,
                    x + bw - 0.6 * m,
                    base,
                    cx.light.lit(rgb(120, 124, 128), 1.0),
                    1.0,
                );
                for k in 0..10 {
                    let yy = base - 2.4 * m + k as f32 * 0.24 * m;
                    cx.c.fill_rect(
                        x + 0.6 * m,
                        yy,
                        x + bw - 0.6 * m,
                        yy + 0.05 * m,
                        cx.light.lit(rgb(90, 92, 96), 1.0),
                        1.0,
                    );
                }
                if let Some(t) = s.shop_signs.get(i) {
                    let bgc = *cx.rng.pick(&[
                        rgb(170, 30, 30),
                        rgb(20, 90, 150),
                        rgb(230, 190, 40),
                        rgb(30, 120, 60),
                    ]);
                    sign_board(
                        cx,
                        x + 0.5 * m,
                        base - 3.6 * m,
                        bw - 1.0 * m,
                        1.0 * m,
                        t,
                        bgc,
                        rgb(250, 250, 250),
                    );
                }
                x += bw;
                i += 1;
            }
            let bw = (font::text_width(&s.sign, 1.0) * 0.13 * m).min(w * 0.6);
            sign_board(
                cx,
                w * 0.5 - bw * 0.5,
                base - 9.5 * m,
                bw,
                1.0 * m,
                &s.sign,
                rgb(14, 80, 50),
                rgb(250, 250, 240),
            );
            roof.min(base - 8.0 * m)
        }
        Landmark::Embassy => {
            let top = block(
                cx,
                w * 0.3,
                w * 0.75,
                base - 1.0 * m,
                3,
                3.2 * m,
                rgb(224, 220, 210),
                10,
                true,
            );
            // High wall with a guard booth and gate.
            let wall = cx.light.lit(rgb(186, 176, 160), 1.0);
            cx.c.fill_rect(0.0, base - 3.6 * m, w, base + 0.3 * m, wall, 1.0);
            cx.c.fill_rect(
                0.0,
                base - 3.8 * m,
                w,
                base - 3.5 * m,
                scale(wall, 0.75),
                1.0,
            );
            let gx = w * 0.42;
            cx.c.fill_rect(
                gx,
                base - 3.2 * m,
                gx + 4.5 * m,
                base + 0.3 * m,
                cx.light.lit(rgb(70, 72, 74), 1.0),
                1.0,
            );
            for k in 0..12 {
                let bx = gx + k as f32 * 0.38 * m;
                cx.c.fill_rect(
                    bx,
                    base - 3.2 * m,
                    bx + 0.08 * m,
                    base + 0.3 * m,
                    cx.light.lit(rgb(40, 40, 42), 1.0),
                    1.0,
                );
            }
            let bx = w * 0.25;
            cx.c.fill_rect(
                bx,
                base - 2.6 * m,
                bx + 1.6 * m,
                base + 0.3 * m,
                cx.light.lit(rgb(110, 130, 110), 1.0),
                1.0,
            );
            cx.c.fill_rect(
                bx + 0.3 * m,
                base - 2.2 * m,
                bx + 1.3 * m,
                base - 1.4 * m,
                rgb(30, 34, 40),
                1.0,
            );
            let bw = (font::text_width(&s.sign, 1.0) * 0.12 * m).min(w * 0.4);
            sign_board(
                cx,
                w * 0.62,
                base - 3.0 * m,
                bw,
                0.9 * m,
                &s.sign,
                rgb(210, 206, 196),
                rgb(40, 40, 60),
            );
            top
        }
        Landmark::Hotel => {
            let fh = 2.7 * m;
            let floors = (((base - 0.25 * cx.h) / fh) as u32).clamp(4, 9);
            let top = block(
                cx,
                w * 0.34,
                w * 0.66,
                base - 0.4 * m,
                floors,
                fh,
                rgb(206, 200, 190),
                8,
                true,
            );
            // Balconies every floor.
            for f in 1..floors {
                let y = base - 0.4 * m - f as f32 * fh;
                cx.c.fill_rect(
                    w * 0.34,
                    y - 0.1 * m,
                    w * 0.66,
                    y + 0.25 * m,
                    cx.light.lit(rgb(160, 156, 150), 1.0),
                    1.0,
                );
            }
            let bw = (w * 0.66 - w * 0.34) * 0.6;
            sign_board(
                cx,
                w * 0.5 - bw * 0.5,
                top - 1.6 * m,
                bw,
                1.4 * m,
                &s.sign,
                rgb(120, 20, 30),
                rgb(255, 236, 180),
            );
            // Lower neighbours.
            block(
                cx,
                w * 0.02,
                w * 0.3,
                base,
                3,
                3.0 * m,
                rgb(190, 176, 150),
                6,
                false,
            );
            block(
                cx,
                w * 0.7,
                w * 0.98,
                base,
                3,
                3.0 * m,
                rgb(214, 206, 186),
                7,
                true,
            );
            // Smoke comes out of a window on the top floor.
            top + 0.25 * m + fh * 0.6
        }
        Landmark::ConcertHall => {
            // A long, low glass-fronted hall.
            let hx0 = w * 0.08;
            let hx1 = w * 0.92;
            let top = base - 9.0 * m;
            let light = cx.light;
            let frame_col = light.lit(rgb(120, 124, 130), 1.0);
            cx.c.fill_rect(hx0, top - 1.2 * m, hx1, base, frame_col, 1.0);
            let panes = 28;
            for k in 0..panes {
                let px = hx0 + (hx1 - hx0) * k as f32 / panes as f32;
                let pw = (hx1 - hx0) / panes as f32;
                let lit_pane = cx.rng.chance(0.4);
                let pc = if lit_pane {
                    rgb(210, 190, 150)
                } else {
                    rgb(26, 30, 40)
                };
                cx.c.shade_rect(
                    px + 0.08 * m,
                    top,
                    px + pw - 0.08 * m,
                    base - 0.3 * m,
                    |_, y| {
                        let t = (y - top) / (base - top);
                        (mix(pc, scale(pc, 0.7), t), 1.0)
                    },
                );
            }
            cx.c.fill_rect(hx0, top - 0.2 * m, hx1, top + 0.2 * m, frame_col, 1.0);
            // Illuminated red lettering on the roof edge.
            let sc = (m * 0.2).max(2.0);
            cx.c.text(
                hx0 + 2.0 * m,
                top - 1.2 * m - font::text_height(sc) - 0.3 * m,
                sc,
                &s.sign,
                rgb(236, 40, 46),
                1.0,
            );
            top - 1.2 * m
        }
    }
}

fn side_buildings(cx: &mut Ctx, s: &Scene, base: f32) {
    if matches!(s.landmark, Landmark::OldStreet | Landmark::ConcertHall) {
        return;
    }
    let m = cx.m;
    let w = cx.w;
    let near_base = base + 3.5 * m;
    let sides = [(-0.02 * w, 0.12 * w, true), (0.9 * w, 1.02 * w, false)];
    for (i, (x0, x1, right)) in sides.iter().enumerate() {
        if cx.rng.chance(0.25) {
            continue;
        }
        let floors = cx.rng.int(2, 4) as u32;
        let col = *cx
            .rng
            .pick(&[rgb(190, 170, 140), rgb(210, 200, 180), rgb(168, 150, 130)]);
        block(cx, *x0, *x1, near_base, floors, 4.2 * m, col, 2, *right);
        if let Some(t) = s.shop_signs.get(i) {
            let bgc = *cx
                .rng
                .pick(&[rgb(180, 28, 36), rgb(24, 84, 160), rgb(34, 120, 70)]);
            let (sx0, sx1) = (x0.max(0.0) + 0.3 * m, x1.min(w) - 0.3 * m);
            sign_board(
                cx,
                sx0,
                near_base - 5.6 * m,
                sx1 - sx0,
                1.3 * m,
                t,
                bgc,
                rgb(250, 248, 240),
            );
        }
    }
}

fn tree(cx: &mut Ctx, x: f32, base: f32, height: f32) {
    let light = cx.light;
    cx.c.fill_rect(
        x - height * 0.03,
        base - height * 0.55,
        x + height * 0.03,
        base,
        light.lit(rgb(80, 60, 44), 1.0),
        1.0,
    );
    for _ in 0..14 {
        let ox = cx.rng.range(-0.3, 0.3) * height;
        let oy = cx.rng.range(0.45, 0.95) * height;
        let r = cx.rng.range(0.12, 0.22) * height;
        let g = cx.rng.range(0.75, 1.1);
        let col = light.lit(scale(rgb(70, 104, 52), g), 1.0);
        cx.c.fill_circle(x + ox, base - oy, r, col, 0.95);
    }
}

fn wires(cx: &mut Ctx) {
    let col = cx.light.lit(rgb(30, 30, 30), 1.0);
    for k in 0..5 {
        let y0 = cx.h * cx.rng.range(0.05, 0.3);
        let y1 = cx.h * cx.rng.range(0.05, 0.3);
        let sag = cx.h * cx.rng.range(0.03, 0.09);
        let width = 1.0 + (k % 2) as f32;
        let steps = 40;
        let mut prev = (0.0f32, y0);
        for i in 1..=steps {
            let t = i as f32 / steps as f32;
            let x = cx.w * t;
            let y = y0 + (y1 - y0) * t + sag * 4.0 * t * (1.0 - t);
            cx.c.line(prev, (x, y), width, col, 0.9);
            prev = (x, y);
        }
    }
}

fn person(cx: &mut Ctx, x: f32, foot: f32, hgt: f32) {
    let light = cx.light;
    let cloth = *cx.rng.pick(&[
        rgb(40, 40, 44),
        rgb(200, 196, 184),
        rgb(90, 100, 110),
        rgb(120, 96, 70),
        rgb(60, 80, 60),
        rgb(30, 40, 70),
        rgb(170, 160, 140),
        rgb(150, 140, 120),
    ]);
    let trousers = *cx
        .rng
        .pick(&[rgb(40, 40, 44), rgb(190, 186, 176), rgb(60, 60, 70)]);
    let skin = *cx
        .rng
        .pick(&[rgb(170, 128, 96), rgb(140, 100, 74), rgb(196, 150, 116)]);
    let c = light.lit(cloth, 1.0);
    let tr = light.lit(trousers, 1.0);
    let sk = light.lit(skin, 1.0);
    let lean = cx.rng.range(-0.03, 0.03) * hgt;
    let y = |k: f32| foot - hgt * k;
    // Shadow on the ground.
    cx.c.fill_ellipse(
        x + hgt * 0.12,
        foot,
        hgt * 0.2,
        hgt * 0.022,
        rgb(0, 0, 0),
        0.22,
    );
    // Legs.
    let stride = cx.rng.range(0.0, 0.06) * hgt;
    cx.c.fill_poly(
        &[
            (x - 0.075 * hgt, y(0.47)),
            (x - 0.005 * hgt, y(0.47)),
            (x - 0.02 * hgt + stride, foot),
            (x - 0.08 * hgt + stride, foot),
        ],
        tr,
        1.0,
    );
    cx.c.fill_poly(
        &[
            (x + 0.005 * hgt, y(0.47)),
            (x + 0.075 * hgt, y(0.47)),
            (x + 0.08 * hgt - stride, foot),
            (x + 0.02 * hgt - stride, foot),
        ],
        scale(tr, 0.85),
        1.0,
    );
    // Long tunic: shoulders to just below the knee.
    let sh = 0.125 * hgt;
    cx.c.fill_poly(
        &[
            (x - sh + lean, y(0.81)),
            (x + sh + lean, y(0.81)),
            (x + 0.13 * hgt, y(0.33)),
            (x - 0.13 * hgt, y(0.33)),
        ],
        c,
        1.0,
    );
    cx.c.fill_ellipse(x + lean, y(0.8), sh, 0.03 * hgt, c, 1.0);
    // Arms hanging at the sides, a little darker.
    let arm = scale(c, 0.82);
    cx.c.line(
        (x - sh + lean + 0.02 * hgt, y(0.79)),
        (x - sh - 0.01 * hgt, y(0.45)),
        0.055 * hgt,
        arm,
        1.0,
    );
    cx.c.line(
        (x + sh + lean - 0.02 * hgt, y(0.79)),
        (x + sh + 0.01 * hgt, y(0.45)),
        0.055 * hgt,
        arm,
        1.0,
    );
    cx.c.fill_circle(x - sh - 0.01 * hgt, y(0.44), 0.025 * hgt, sk, 1.0);
    cx.c.fill_circle(x + sh + 0.01 * hgt, y(0.44), 0.025 * hgt, sk, 1.0);
    // Neck and head.
    cx.c.fill_rect(
        x + lean - 0.025 * hgt,
        y(0.86),
        x + lean + 0.025 * hgt,
        y(0.8),
        scale(sk, 0.85),
        1.0,
    );
    cx.c.fill_ellipse(x + lean, y(0.915), 0.055 * hgt, 0.066 * hgt, sk, 1.0);
    // Dark hair or a cap, turban or scarf.
    let r = cx.rng.f32();
    let hx = x + lean;
    if r < 0.35 {
        cx.c.fill_ellipse(
            hx,
            y(0.945),
            0.057 * hgt,
            0.04 * hgt,
            light.lit(rgb(24, 20, 18), 1.0),
            1.0,
        );
    } else if r < 0.7 {
        let hat = light.lit(
            *cx.rng
                .pick(&[rgb(236, 236, 230), rgb(30, 30, 30), rgb(110, 90, 70)]),
            1.0,
        );
        cx.c.fill_ellipse(hx, y(0.96), 0.064 * hgt, 0.04 * hgt, hat, 1.0);
    } else {
        let scarf = light.lit(
            *cx.rng
                .pick(&[rgb(20, 20, 24), rgb(90, 40, 60), rgb(40, 60, 110)]),
            1.0,
        );
        cx.c.fill_ellipse(hx, y(0.92), 0.068 * hgt, 0.08 * hgt, scarf, 1.0);
        cx.c.fill_ellipse(hx, y(0.91), 0.035 * hgt, 0.045 * hgt, sk, 1.0);
    }
}

fn vehicle(cx: &mut Ctx, x: f32, foot: f32, hgt: f32) {
    let light = cx.light;
    let body = light.lit(
        *cx.rng.pick(&[
            rgb(230, 230, 226),
            rgb(40, 44, 50),
            rgb(60, 90, 60),
            rgb(200, 170, 40),
            rgb(140, 140, 146),
        ]),
        1.0,
    );
    let len = hgt * 2.9;
    let x0 = x - len * 0.5;
    let x1 = x + len * 0.5;
    // Body, cabin, windows, wheels.
    cx.c.fill_rect(x0, foot - hgt * 0.62, x1, foot - hgt * 0.18, body, 1.0);
    cx.c.fill_poly(
        &[
            (x0 + len * 0.22, foot - hgt * 0.62),
            (x0 + len * 0.32, foot - hgt),
            (x0 + len * 0.7, foot - hgt),
            (x0 + len * 0.8, foot - hgt * 0.62),
        ],
        scale(body, 0.95),
        1.0,
    );
    let glass = mix(rgb(30, 40, 50), cx.sky_hor, 0.3);
    cx.c.fill_poly(
        &[
            (x0 + len * 0.26, foot - hgt * 0.64),
            (x0 + len * 0.34, foot - hgt * 0.94),
            (x0 + len * 0.68, foot - hgt * 0.94),
            (x0 + len * 0.76, foot - hgt * 0.64),
        ],
        glass,
        1.0,
    );
    cx.c.fill_rect(
        x0 + len * 0.5,
        foot - hgt * 0.95,
        x0 + len * 0.52,
        foot - hgt * 0.62,
        body,
        1.0,
    );
    for wx in [x0 + len * 0.2, x1 - len * 0.2] {
        cx.c.fill_circle(wx, foot - hgt * 0.18, hgt * 0.18, rgb(18, 18, 20), 1.0);
        cx.c.fill_circle(
            wx,
            foot - hgt * 0.18,
            hgt * 0.08,
            light.lit(rgb(150, 150, 150), 1.0),
            1.0,
        );
    }
    if light.night {
        cx.c.fill_circle(
            x1 - hgt * 0.05,
            foot - hgt * 0.5,
            hgt * 0.06,
            rgb(250, 240, 200),
            1.0,
        );
    }
    cx.c.fill_ellipse(
        x,
        foot + hgt * 0.02,
        len * 0.55,
        hgt * 0.06,
        rgb(0, 0, 0),
        0.3,
    );
}

fn street_life(cx: &mut Ctx, s: &Scene, base: f32) {
    let h = cx.h;
    let horizon = cx.horizon;
    // Debris scattered on the ground.
    let light = cx.light;
    for _ in 0..(cx.w as usize / 6) {
        let x = cx.rng.range(0.0, cx.w);
        let y = cx.rng.range(base, h);
        let sz = (y - horizon) * cx.rng.range(0.005, 0.02);
        let col = light.lit(
            *cx.rng
                .pick(&[rgb(40, 38, 36), rgb(120, 110, 96), rgb(200, 196, 186)]),
            1.0,
        );
        cx.c.fill_rect(x, y, x + sz * 1.6, y + sz, col, 0.85);
    }
    // Collect everything, then draw far to near.
    let mut items: Vec<(f32, f32, bool)> = Vec::new();
    let cars = cx.rng.int(1, 3);
    for _ in 0..cars {
        let foot = cx
            .rng
            .range(base + 0.06 * (h - base), base + 0.3 * (h - base));
        items.push((foot, cx.rng.range(0.1, 0.9) * cx.w, true));
    }
    for i in 0..s.crowd {
        let far = i >= 2 || s.crowd < 6;
        let foot = if far {
            let t = cx.rng.f32();
            base + (0.02 + 0.4 * t * t) * (h - base)
        } else {
            cx.rng
                .range(base + 0.5 * (h - base), base + 0.8 * (h - base))
        };
        let x = if far {
            cx.rng.range(0.02, 0.98)
        } else {
            *cx.rng.pick(&[0.08f32, 0.9]) + cx.rng.range(-0.05, 0.05)
        };
        items.push((foot, x * cx.w, false));
    }
    items.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (foot, x, car) in items {
        let size = (foot - horizon) * cx.rng.range(0.92, 1.06);
        if car {
            vehicle(cx, x, foot, size * 0.85);
        } else {
            person(cx, x, foot, size * 1.02);
        }
    }
}

/// Draw the smoke plume onto `c`, whose pixel (x, y) is world (x + ox, y + oy).
/// `growth` (0..1] scales the plume's height; `t` (seconds) animates it.
pub fn draw_plume(c: &mut Canvas, p: &Plume, ox: f32, oy: f32, growth: f32, t: f32) {
    let height = p.height * growth.max(0.02);
    let rise = p.r0 * 0.9 * t;
    let r_top = p.r0 + (p.r1 - p.r0) * growth;
    // Bounding box in canvas coordinates.
    let bx0 = (p.bx - ox - r_top * 1.8 - p.drift.abs() * growth)
        .floor()
        .max(0.0);
    let bx1 = (p.bx - ox + r_top * 1.8 + p.drift.abs() * growth)
        .ceil()
        .min(c.w as f32);
    let by0 = (p.by - oy - height - r_top).floor().max(0.0);
    let by1 = (p.by - oy + p.r0).ceil().min(c.h as f32);
    if bx1 <= bx0 || by1 <= by0 {
        return;
    }
    let (bw, bh) = ((bx1 - bx0) as usize, (by1 - by0) as usize);
    let freq = 1.0 / (p.r0 * 1.1);
    let seed = p.seed;
    let cell = (p.r0 / 8.0).clamp(1.5, 5.0);
    let field = Field::new(bw, bh, cell, |x, y| {
        let wx = x + bx0 + ox;
        let wy = y + by0 + oy + rise;
        noise::fbm(wx * freq, wy * freq, seed, 5)
    });
    let lumps = Field::new(bw, bh, cell * 2.0, |x, y| {
        let wx = x + bx0 + ox;
        let wy = y + by0 + oy + rise * 0.6;
        noise::fbm(wx * freq * 0.35, wy * freq * 0.35, seed ^ 0xABCD, 3)
    });
    let dark_col = mix(rgb(120, 118, 114), rgb(22, 20, 20), p.dark);
    let light_col = if p.night {
        mix(rgb(70, 60, 58), rgb(30, 26, 26), p.dark)
    } else {
        mix(rgb(214, 210, 204), rgb(96, 92, 90), p.dark)
    };
    for yy in 0..bh {
        let y = yy as f32 + by0;
        let wy = y + oy;
        let u = (p.by - wy) / height;
        if !(-0.05..=1.15).contains(&u) {
            continue;
        }
        let uc = u.clamp(0.0, 1.0);
        let spread = 2.0 * uc - uc * uc;
        let r = p.r0 + (r_top - p.r0) * spread;
        let cxw = p.bx + p.drift * growth * uc * uc;
        let base_fade = clamp01((u + 0.05) * 12.0);
        let top_fade = clamp01((1.15 - u) * 4.0);
        for xx in 0..bw {
            let x = xx as f32 + bx0;
            let wx = x + ox;
            let d = (wx - cxw) / r;
            if d.abs() > 1.8 {
                continue;
            }
            let n = field.sample(xx as f32, yy as f32);
            let l = lumps.sample(xx as f32, yy as f32);
            let shape = 1.0 - d * d * 0.9 + (n - 0.5) * 1.7 + (l - 0.5) * 0.9;
            let dens = clamp01(shape * 1.6) * base_fade * top_fade * (0.97 - 0.3 * uc);
            if dens <= 0.0 {
                continue;
            }
            let side = if p.sun_left { -d } else { d };
            let shade = clamp01(0.35 + (n - 0.5) * 1.4 + side * 0.18 + uc * 0.25);
            let mut col = mix(dark_col, light_col, shade);
            if p.fire {
                // Underside lit orange by the flames.
                let glow = clamp01(1.0 - u * 2.5) * (1.0 - shade * 0.5);
                col = mix(col, rgb(240, 120, 40), glow * 0.55);
            }
            c.blend(xx + bx0 as usize, yy + by0 as usize, col, dens);
        }
    }
    if p.fire {
        draw_fire(c, p, ox, oy, t);
    }
}

fn draw_fire(c: &mut Canvas, p: &Plume, ox: f32, oy: f32, t: f32) {
    let fw = p.r0 * 1.6;
    let fh = p.r0 * 1.8;
    let x0 = (p.bx - ox - fw).floor().max(0.0) as usize;
    let x1 = ((p.bx - ox + fw).ceil().max(0.0) as usize).min(c.w);
    let y0 = (p.by - oy - fh).floor().max(0.0) as usize;
    let y1 = ((p.by - oy + p.r0 * 0.3).ceil().max(0.0) as usize).min(c.h);
    let freq = 1.0 / (p.r0 * 0.35);
    for y in y0..y1 {
        for x in x0..x1 {
            let wx = x as f32 + ox;
            let wy = y as f32 + oy;
            let dx = (wx - p.bx) / fw;
            let v = (p.by - wy) / fh; // 0 at the base, 1 at the flame tips
            let n = noise::fbm(wx * freq, (wy + t * p.r0 * 4.0) * freq, p.seed ^ 0xF1E, 4);
            let heat = (1.0 - dx * dx * 1.3) * (1.0 - v.max(0.0)) + (n - 0.5) * 1.1;
            let heat = clamp01(heat * 1.4);
            if heat <= 0.02 {
                continue;
            }
            let col = if heat < 0.5 {
                mix(rgb(150, 30, 10), rgb(250, 120, 20), heat * 2.0)
            } else {
                mix(rgb(250, 120, 20), rgb(255, 236, 160), (heat - 0.5) * 2.0)
            };
            c.blend(x, y, col, clamp01(heat * 1.6));
        }
    }
}

/// Warm light from a fire falling on everything around it (strong at night).
pub fn fire_light(c: &mut Canvas, p: &Plume, ox: f32, oy: f32, flicker: f32) {
    let reach = (c.w.max(c.h) as f32) * if p.night { 0.45 } else { 0.2 };
    let strength = if p.night { 1.5 } else { 0.35 } * flicker;
    let fx = p.bx - ox;
    let fy = p.by - oy;
    c.map(|x, y, col| {
        let dx = (x as f32 - fx) / reach;
        let dy = (y as f32 - fy) / reach;
        let g = strength / (1.0 + 4.0 * (dx * dx + dy * dy));
        let refl = 0.25 + (col[0] + col[1] + col[2]) / (3.0 * 255.0);
        [
            (col[0] + 120.0 * g * refl).min(255.0),
            (col[1] + 52.0 * g * refl).min(255.0),
            (col[2] + 14.0 * g * refl).min(255.0),
        ]
    });
}

/// Lens softness, vignette and a gentle S-curve.
pub fn camera_finish(c: &Canvas, soften: bool) -> Canvas {
    let mut out = if soften { c.soften() } else { c.clone() };
    let (w, h) = (out.w as f32, out.h as f32);
    out.map(|x, y, col| {
        let dx = (x as f32 + 0.5) / w * 2.0 - 1.0;
        let dy = (y as f32 + 0.5) / h * 2.0 - 1.0;
        let r2 = (dx * dx + dy * dy) * 0.5;
        let v = 1.0 - 0.28 * r2 * r2 - 0.1 * r2;
        let mut o = [0.0f32; 3];
        for ch in 0..3 {
            let t = clamp01(col[ch] * v / 255.0);
            let s = t + 0.22 * t * (1.0 - t) * (2.0 * t - 1.0);
            o[ch] = s * 255.0;
        }
        o
    });
    out
}
