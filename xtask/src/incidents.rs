//! The incidents the fixtures are loosely based on (attacks reported in the
//! news articles under shared/seeds), with a fictional phone photo of each.

use crate::exif::{Dms, ExifInfo};
use crate::rng::Rng;
use crate::scene::{Landmark, Scene, SmokeSpec, Tod};

#[derive(Debug, Clone)]
pub struct Incident {
    /// Short place slug, e.g. "kabul-abbey-gate".
    pub slug: &'static str,
    /// A re-poster's caption headline (at most 40 characters).
    pub headline: &'static str,
    /// Local date, "YYYY-MM-DD".
    pub date: &'static str,
    /// Local time the photo was taken.
    pub time: (u32, u32, u32),
    pub subsec: &'static str,
    /// Offset from UTC in minutes.
    pub offset_min: i32,
    pub lat: f64,
    pub lon: f64,
    pub alt_m: f64,
    pub make: &'static str,
    pub model: &'static str,
    pub width: usize,
    pub height: usize,
    pub tod: Tod,
    pub landmark: Landmark,
    pub sign: &'static str,
    pub shop_signs: &'static [&'static str],
    pub mountains: bool,
    pub snow: bool,
    pub smoke: SmokeSpec,
    pub crowd: usize,
    pub wires: bool,
    pub trees: bool,
}

const fn smoke(x: f32, size: f32, dark: f32, drift: f32, fire: bool) -> SmokeSpec {
    SmokeSpec {
        x,
        size,
        dark,
        drift,
        fire,
    }
}

pub fn all() -> Vec<Incident> {
    vec![
        Incident {
            slug: "kabul-abbey-gate",
            headline: "BLAST AT KABUL AIRPORT GATE",
            date: "2021-08-26",
            time: (17, 52, 10),
            subsec: "348",
            offset_min: 270,
            lat: 34.5620,
            lon: 69.2140,
            alt_m: 1791.0,
            make: "samsung",
            model: "SM-A515F",
            width: 1600,
            height: 1200,
            tod: Tod::Evening,
            landmark: Landmark::GateWalls,
            sign: "NORTH GATE - NO ENTRY",
            shop_signs: &[],
            mountains: true,
            snow: false,
            smoke: smoke(0.36, 0.55, 0.55, 0.12, false),
            crowd: 60,
            wires: false,
            trees: false,
        },
        Incident {
            slug: "kabul-sayed-ul-shuhada-school",
            headline: "EXPLOSIONS AT GIRLS SCHOOL IN WEST KABUL",
            date: "2021-05-08",
            time: (16, 34, 27),
            subsec: "071",
            offset_min: 270,
            lat: 34.4650,
            lon: 69.1190,
            alt_m: 1832.0,
            make: "Apple",
            model: "iPhone 11",
            width: 1080,
            height: 1350,
            tod: Tod::Afternoon,
            landmark: Landmark::School,
            sign: "SAYED UL-SHUHADA HIGH SCHOOL",
            shop_signs: &["BOOKS & PENS", "NAN BAKERY"],
            mountains: true,
            snow: false,
            smoke: smoke(0.6, 0.42, 0.85, -0.08, false),
            crowd: 22,
            wires: true,
            trees: true,
        },
        Incident {
            slug: "kunduz-sayed-abad-mosque",
            headline: "MOSQUE BOMBING IN KUNDUZ",
            date: "2021-10-08",
            time: (13, 31, 45),
            subsec: "512",
            offset_min: 270,
            lat: 36.7290,
            lon: 68.8570,
            alt_m: 391.0,
            make: "Xiaomi",
            model: "Redmi Note 8",
            width: 1280,
            height: 960,
            tod: Tod::Midday,
            landmark: Landmark::Mosque {
                minarets: 1,
                dome: [64, 170, 170],
            },
            sign: "SAYED ABAD MASJID",
            shop_signs: &["MOBILE SHOP", "PHARMACY"],
            mountains: false,
            snow: false,
            smoke: smoke(0.56, 0.5, 0.5, 0.1, false),
            crowd: 30,
            wires: true,
            trees: true,
        },
        Incident {
            slug: "kandahar-imam-bargah-mosque",
            headline: "BLASTS AT KANDAHAR MOSQUE",
            date: "2021-10-15",
            time: (13, 22, 3),
            subsec: "904",
            offset_min: 270,
            lat: 31.6130,
            lon: 65.7100,
            alt_m: 1010.0,
            make: "HUAWEI",
            model: "MAR-LX1A",
            width: 1440,
            height: 1080,
            tod: Tod::Midday,
            landmark: Landmark::Mosque {
                minarets: 2,
                dome: [70, 140, 96],
            },
            sign: "IMAM BARGAH",
            shop_signs: &["FRUIT & VEG", "TAILOR"],
            mountains: true,
            snow: false,
            smoke: smoke(0.42, 0.5, 0.7, -0.1, false),
            crowd: 34,
            wires: false,
            trees: false,
        },
        Incident {
            slug: "kabul-military-hospital",
            headline: "ATTACK ON KABUL MILITARY HOSPITAL",
            date: "2021-11-02",
            time: (13, 3, 38),
            subsec: "260",
            offset_min: 270,
            lat: 34.5330,
            lon: 69.1750,
            alt_m: 1795.0,
            make: "samsung",
            model: "SM-A217F",
            width: 1024,
            height: 768,
            tod: Tod::Midday,
            landmark: Landmark::Hospital,
            sign: "SARDAR DAUD KHAN HOSPITAL",
            shop_signs: &["PHARMACY", "DENTAL CLINIC"],
            mountains: true,
            snow: true,
            smoke: smoke(0.68, 0.6, 0.9, 0.06, false),
            crowd: 18,
            wires: true,
            trees: true,
        },
        Incident {
            slug: "peshawar-koocha-risaldar-mosque",
            headline: "BLAST AT PESHAWAR MOSQUE",
            date: "2022-03-04",
            time: (13, 34, 51),
            subsec: "618",
            offset_min: 300,
            lat: 34.0090,
            lon: 71.5780,
            alt_m: 345.0,
            make: "vivo",
            model: "vivo 1906",
            width: 1200,
            height: 1600,
            tod: Tod::Midday,
            landmark: Landmark::OldStreet,
            sign: "KOOCHA RISALDAR",
            shop_signs: &["CLOTH HOUSE", "KHAN TRADERS", "CHAI", "SHOES", "DRY FRUIT"],
            mountains: false,
            snow: false,
            smoke: smoke(0.5, 0.4, 0.6, 0.08, false),
            crowd: 26,
            wires: true,
            trees: false,
        },
        Incident {
            slug: "kabul-russian-embassy",
            headline: "EXPLOSION NEAR EMBASSY IN KABUL",
            date: "2022-09-05",
            time: (10, 52, 19),
            subsec: "033",
            offset_min: 270,
            lat: 34.5130,
            lon: 69.1300,
            alt_m: 1801.0,
            make: "Apple",
            model: "iPhone XR",
            width: 1600,
            height: 900,
            tod: Tod::Midday,
            landmark: Landmark::Embassy,
            sign: "CONSULAR SECTION",
            shop_signs: &["EXCHANGE", "PHOTO COPY"],
            mountains: true,
            snow: false,
            smoke: smoke(0.46, 0.35, 0.35, 0.15, false),
            crowd: 28,
            wires: true,
            trees: true,
        },
        Incident {
            slug: "kabul-kaaj-educational-center",
            headline: "BLAST AT KABUL EDUCATION CENTRE",
            date: "2022-09-30",
            time: (7, 33, 56),
            subsec: "455",
            offset_min: 270,
            lat: 34.4870,
            lon: 69.0960,
            alt_m: 1836.0,
            make: "Xiaomi",
            model: "Redmi 9",
            width: 1280,
            height: 960,
            tod: Tod::Morning,
            landmark: Landmark::School,
            sign: "KAAJ EDUCATIONAL CENTER",
            shop_signs: &["STATIONERY", "KABUL BANK"],
            mountains: true,
            snow: false,
            smoke: smoke(0.38, 0.38, 0.6, 0.1, false),
            crowd: 20,
            wires: true,
            trees: false,
        },
        Incident {
            slug: "kabul-shahr-e-naw-hotel",
            headline: "GUNMEN ATTACK HOTEL IN KABUL",
            date: "2022-12-12",
            time: (14, 36, 12),
            subsec: "702",
            offset_min: 270,
            lat: 34.5350,
            lon: 69.1750,
            alt_m: 1792.0,
            make: "Apple",
            model: "iPhone 12",
            width: 1080,
            height: 1350,
            tod: Tod::Winter,
            landmark: Landmark::Hotel,
            sign: "KABUL LONGAN HOTEL",
            shop_signs: &["RESTAURANT", "TRAVEL AGENCY"],
            mountains: true,
            snow: true,
            smoke: smoke(0.5, 0.45, 0.8, -0.12, true),
            crowd: 16,
            wires: false,
            trees: false,
        },
        Incident {
            slug: "kabul-foreign-ministry",
            headline: "BLAST NEAR FOREIGN MINISTRY KABUL",
            date: "2023-03-27",
            time: (16, 2, 40),
            subsec: "181",
            offset_min: 270,
            lat: 34.5260,
            lon: 69.1850,
            alt_m: 1790.0,
            make: "OPPO",
            model: "CPH2083",
            width: 1536,
            height: 1152,
            tod: Tod::Afternoon,
            landmark: Landmark::Ministry,
            sign: "MINISTRY OF FOREIGN AFFAIRS",
            shop_signs: &["TEA HOUSE", "SIM CARDS"],
            mountains: true,
            snow: true,
            smoke: smoke(0.3, 0.3, 0.45, 0.1, false),
            crowd: 24,
            wires: false,
            trees: true,
        },
        Incident {
            slug: "mazar-i-sharif-balkh-governor-office",
            headline: "BLAST AT BALKH GOVERNOR OFFICE",
            date: "2023-03-09",
            time: (10, 1, 7),
            subsec: "926",
            offset_min: 270,
            lat: 36.7090,
            lon: 67.1110,
            alt_m: 378.0,
            make: "HUAWEI",
            model: "DUB-LX1",
            width: 1600,
            height: 1200,
            tod: Tod::Morning,
            landmark: Landmark::Governor,
            sign: "BALKH PROVINCE GOVERNOR OFFICE",
            shop_signs: &["CARPETS", "BOOKSHOP"],
            mountains: false,
            snow: false,
            smoke: smoke(0.62, 0.4, 0.65, -0.1, false),
            crowd: 20,
            wires: false,
            trees: true,
        },
        Incident {
            slug: "krasnogorsk-crocus-city-hall",
            headline: "FIRE AT CROCUS CITY HALL",
            date: "2024-03-22",
            time: (20, 12, 33),
            subsec: "587",
            offset_min: 180,
            lat: 55.8260,
            lon: 37.3880,
            alt_m: 175.0,
            make: "Apple",
            model: "iPhone 13",
            width: 1200,
            height: 1600,
            tod: Tod::Night,
            landmark: Landmark::ConcertHall,
            sign: "CROCUS CITY HALL",
            shop_signs: &[],
            mountains: false,
            snow: true,
            smoke: smoke(0.74, 0.62, 0.95, -0.1, true),
            crowd: 14,
            wires: false,
            trees: false,
        },
    ]
}

impl Incident {
    /// The incident id used in expected.json, e.g. "kabul-abbey-gate-2021-08-26".
    pub fn id(&self) -> String {
        format!("{}-{}", self.slug, self.date)
    }

    pub fn file_stem(&self, n: u32) -> String {
        format!("{}_{}_{:02}", self.date, self.slug, n)
    }

    pub fn seed(&self) -> u64 {
        Rng::from_label(0x5167_471E, &self.id()).next_u64()
    }

    pub fn scene(&self, w: usize, h: usize, variant: u64) -> Scene {
        Scene {
            seed: self.seed() ^ variant.wrapping_mul(0x9E37_79B9),
            w,
            h,
            tod: self.tod,
            landmark: self.landmark,
            sign: self.sign.into(),
            shop_signs: self.shop_signs.iter().map(|s| s.to_string()).collect(),
            mountains: self.mountains,
            snow: self.snow,
            smoke: self.smoke,
            crowd: self.crowd * w * h / (1_400 * 1_000),
            wires: self.wires,
            trees: self.trees,
        }
    }

    /// Local "YYYY:MM:DD HH:MM:SS".
    pub fn exif_datetime(&self) -> String {
        let (h, m, s) = self.time;
        format!("{} {:02}:{:02}:{:02}", self.date.replace('-', ":"), h, m, s)
    }

    pub fn offset_string(&self) -> String {
        let sign = if self.offset_min < 0 { '-' } else { '+' };
        let a = self.offset_min.abs();
        format!("{sign}{:02}:{:02}", a / 60, a % 60)
    }

    /// The GPS position actually written: the site plus a few tens of metres
    /// of deterministic jitter, quantised to 1/100 arc-second.
    pub fn gps(&self) -> (Dms, Dms) {
        let mut rng = Rng::from_label(self.seed(), "gps");
        let jlat = f64::from(rng.range(-1.5, 1.5)) / 3600.0;
        let jlon = f64::from(rng.range(-1.5, 1.5)) / 3600.0;
        (
            Dms::from_decimal(self.lat + jlat),
            Dms::from_decimal(self.lon + jlon),
        )
    }

    pub fn exif(&self) -> ExifInfo {
        let (lat, lon) = self.gps();
        let (h, m, s) = self.time;
        let local = (h * 3600 + m * 60 + s) as i32;
        let mut utc = local - self.offset_min * 60;
        let mut date = self.date.to_string();
        if utc < 0 {
            utc += 86_400;
            date = previous_day(&date);
        }
        let utc = utc as u32;
        ExifInfo {
            make: self.make.into(),
            model: self.model.into(),
            datetime: self.exif_datetime(),
            subsec: self.subsec.into(),
            offset: self.offset_string(),
            lat,
            lat_north: self.lat >= 0.0,
            lon,
            lon_east: self.lon >= 0.0,
            alt_cm: (self.alt_m * 100.0).round() as u32,
            gps_time: (utc / 3600, utc / 60 % 60, utc % 60),
            gps_date: date.replace('-', ":"),
            width: self.width as u32,
            height: self.height as u32,
        }
    }
}

fn previous_day(date: &str) -> String {
    let parts: Vec<u32> = date.split('-').filter_map(|p| p.parse().ok()).collect();
    let (mut y, mut m, mut d) = (parts[0], parts[1], parts[2]);
    if d > 1 {
        d -= 1;
    } else {
        if m == 1 {
            y -= 1;
            m = 12;
        } else {
            m -= 1;
        }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        d = match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
    }
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_rollover() {
        assert_eq!(previous_day("2024-03-01"), "2024-02-29");
        assert_eq!(previous_day("2021-01-01"), "2020-12-31");
    }

    #[test]
    fn utc_conversion() {
        let inc = &all()[0];
        let e = inc.exif();
        assert_eq!(e.gps_time, (13, 22, 10));
        assert_eq!(e.offset, "+04:30");
        assert_eq!(e.gps_date, "2021:08:26");
    }
}
