//! Hash raw interleaved RGB files: `pdq_raw LIST` where each line of LIST is
//! `MODE FILE WIDTH HEIGHT NAME`; prints `MODE,NAME,hash,quality,dihedral…`.
//! A development aid for checking the hash apart from any decoder.

use sightline_media::pdq::{LumaModel, PdqHasher};

fn main() {
    let Some(list) = std::env::args().nth(1) else {
        eprintln!("usage: pdq_raw LIST");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(list).expect("read list");
    let mut hasher = PdqHasher::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() < 5 {
            continue;
        }
        let rgb = std::fs::read(f[1]).expect("read rgb");
        let w: u32 = f[2].parse().expect("width");
        let h: u32 = f[3].parse().expect("height");
        let d = hasher.dihedral(&rgb, w, h, LumaModel::Pdqhash);
        let rest: Vec<String> = d.hashes[1..].iter().map(|x| x.to_string()).collect();
        println!(
            "{},{},{},{},{}",
            f[0],
            f[4],
            d.hashes[0],
            d.quality,
            rest.join(",")
        );
    }
}
