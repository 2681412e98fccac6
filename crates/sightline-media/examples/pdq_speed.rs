//! Time PDQ alone on a synthetic 4000×3000 image: `pdq_speed [REPS]`.

use sightline_media::pdq::{LumaModel, PdqHasher};

fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let (w, h) = (4000usize, 3000usize);
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let rgb: Vec<u8> = (0..w * h * 3)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect();
    let mut hasher = PdqHasher::new();
    for model in [LumaModel::Pdqhash, LumaModel::Cpp] {
        let t = std::time::Instant::now();
        for _ in 0..reps {
            std::hint::black_box(hasher.dihedral(&rgb, w as u32, h as u32, model));
        }
        println!(
            "{model:?}: {:.1} ms per 12 MP image",
            t.elapsed().as_secs_f64() * 1000.0 / reps as f64
        );
    }
}
