//! Value noise and fractal sums built only from exact IEEE operations
//! (add, multiply, floor), so results do not depend on the platform's libm.

use crate::rng::hash2;

fn lattice(x: i32, y: i32, seed: u32) -> f32 {
    (hash2(x, y, seed) >> 8) as f32 / 16_777_216.0
}

fn smooth(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

/// Value noise in [0, 1).
pub fn value(x: f32, y: f32, seed: u32) -> f32 {
    let xf = x.floor();
    let yf = y.floor();
    let xi = xf as i32;
    let yi = yf as i32;
    let tx = smooth(x - xf);
    let ty = smooth(y - yf);
    let a = lattice(xi, yi, seed);
    let b = lattice(xi + 1, yi, seed);
    let c = lattice(xi, yi + 1, seed);
    let d = lattice(xi + 1, yi + 1, seed);
    let top = a + (b - a) * tx;
    let bot = c + (d - c) * tx;
    top + (bot - top) * ty
}

/// Fractal sum of `octaves` layers of value noise, normalised to [0, 1).
pub fn fbm(x: f32, y: f32, seed: u32, octaves: u32) -> f32 {
    let mut sum = 0.0;
    let mut amp = 0.5;
    let mut norm = 0.0;
    let mut fx = x;
    let mut fy = y;
    for o in 0..octaves {
        sum += amp * value(fx, fy, seed.wrapping_add(o.wrapping_mul(1013)));
        norm += amp;
        amp *= 0.5;
        fx = fx * 2.03 + 17.0;
        fy = fy * 2.03 + 31.0;
    }
    sum / norm
}

/// 1-D fractal noise (a ridge line for mountains or a skyline).
pub fn fbm1(x: f32, seed: u32, octaves: u32) -> f32 {
    fbm(x, 0.5, seed, octaves)
}

/// A noise field evaluated on a coarse grid and sampled bilinearly: cheap
/// enough to cover a whole frame many times over.
#[derive(Debug, Clone)]
pub struct Field {
    w: usize,
    h: usize,
    cell: f32,
    data: Vec<f32>,
}

impl Field {
    /// `cell` is the size in output pixels of one grid step.
    pub fn new(out_w: usize, out_h: usize, cell: f32, f: impl Fn(f32, f32) -> f32) -> Self {
        let w = (out_w as f32 / cell) as usize + 3;
        let h = (out_h as f32 / cell) as usize + 3;
        let mut data = Vec::with_capacity(w * h);
        for gy in 0..h {
            for gx in 0..w {
                data.push(f(gx as f32 * cell, gy as f32 * cell));
            }
        }
        Self { w, h, cell, data }
    }

    pub fn sample(&self, x: f32, y: f32) -> f32 {
        let gx = (x / self.cell).max(0.0);
        let gy = (y / self.cell).max(0.0);
        let x0 = (gx as usize).min(self.w - 2);
        let y0 = (gy as usize).min(self.h - 2);
        let tx = (gx - x0 as f32).min(1.0);
        let ty = (gy - y0 as f32).min(1.0);
        let i = y0 * self.w + x0;
        let a = self.data[i];
        let b = self.data[i + 1];
        let c = self.data[i + self.w];
        let d = self.data[i + self.w + 1];
        let top = a + (b - a) * tx;
        let bot = c + (d - c) * tx;
        top + (bot - top) * ty
    }
}
