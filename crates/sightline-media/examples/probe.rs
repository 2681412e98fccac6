//! Probe files given on the command line and print one line per file:
//! `path<TAB>ok<TAB>format<TAB>width<TAB>height<TAB>trailing` or
//! `path<TAB>code<TAB>message`.

use std::fs::File;

use sightline_media::{Limits, probe};

fn main() {
    let limits = Limits::default();
    for path in std::env::args().skip(1) {
        let result = File::open(&path).and_then(|f| Ok((f.metadata()?.len(), f)));
        let (len, mut file) = match result {
            Ok(x) => x,
            Err(e) => {
                println!("{path}\tio\t{e}");
                continue;
            }
        };
        match probe(&mut file, len, &limits) {
            Ok(info) => println!(
                "{path}\tok\t{}\t{}\t{}\ttrailing={}\tframes={:?}",
                info.format,
                info.width.map_or("-".into(), |w| w.to_string()),
                info.height.map_or("-".into(), |h| h.to_string()),
                info.trailing_bytes,
                info.frames
            ),
            Err(e) => println!("{path}\t{}\t{e}", e.code()),
        }
    }
}
