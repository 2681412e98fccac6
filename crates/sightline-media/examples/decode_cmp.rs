//! Development aid: decode each `MODE FILE(raw rgb) W H NAME` of a list made
//! from a reference decoder and print how many bytes differ, the largest
//! difference and the PDQ distance. `decode_cmp LIST ROOT`.

use sightline_media::pdq::{LumaModel, PdqHasher, hamming};
use sightline_media::{DecodeMode, Limits, decode};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: decode_cmp LIST ROOT");
        std::process::exit(2);
    }
    let text = std::fs::read_to_string(&args[1]).expect("list");
    let mut hasher = PdqHasher::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let mode = if f[0] == "te" {
            DecodeMode::Te
        } else {
            DecodeMode::Rgb
        };
        let want = std::fs::read(f[1]).expect("raw");
        let (w, h): (u32, u32) = (f[2].parse().unwrap(), f[3].parse().unwrap());
        let bytes = std::fs::read(format!("{}/{}", args[2], f[4])).expect("file");
        // DECODER=image: JPEGs through the image crate (zune-jpeg) instead,
        // to measure what the choice of decoder costs.
        let zune = std::env::var("DECODER").is_ok_and(|v| v == "image");
        let result = if zune && bytes.starts_with(&[0xFF, 0xD8]) {
            let img = image::load_from_memory(&bytes).expect("image crate decode");
            let rgb = if mode == DecodeMode::Te && img.color().channel_count() == 4 {
                img.to_rgba8()
                    .pixels()
                    .flat_map(|p| [p[0], p[1], p[2]])
                    .collect()
            } else {
                img.to_rgb8().into_raw()
            };
            let mut d = decode(&bytes, &Limits::default(), mode).expect("decode");
            d.rgb = rgb;
            Ok(d)
        } else {
            decode(&bytes, &Limits::default(), mode)
        };
        match result {
            Err(e) => println!("{} {} ERROR {} {e}", f[0], f[4], e.code()),
            Ok(d) => {
                if (d.width, d.height) != (w, h) || d.rgb.len() != want.len() {
                    println!("{} {} SIZE {}x{} vs {w}x{h}", f[0], f[4], d.width, d.height);
                    continue;
                }
                let diff = d.rgb.iter().zip(&want).filter(|(a, b)| a != b).count();
                let maxd = d
                    .rgb
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| a.abs_diff(*b))
                    .max()
                    .unwrap_or(0);
                let a = hasher.dihedral(&d.rgb, w, h, LumaModel::Pdqhash);
                let b = hasher.dihedral(&want, w, h, LumaModel::Pdqhash);
                let dist: Vec<u32> = a
                    .hashes
                    .iter()
                    .zip(&b.hashes)
                    .map(|(x, y)| hamming(x, y))
                    .collect();
                println!(
                    "{} {} {} {} diffbytes={diff} max={maxd} dist={dist:?} q={}/{} orient={:?} frames={:?}",
                    f[0],
                    f[4],
                    d.source_mode,
                    d.format,
                    a.quality,
                    b.quality,
                    d.orientation,
                    d.frames
                );
            }
        }
    }
}
