//! Print the regions [`find_regions`] proposes for image files:
//! `repost_regions FILE...` prints `path<TAB>ms<TAB>kind x,y,w,h ...` per file.
//! With `--draw DIR`, also writes each image with its regions outlined as
//! PNG into DIR (a development aid for looking at what was found); with
//! `--repeat N`, times N runs per file and prints the mean.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sightline_media::regions::find_regions;

fn main() {
    let mut draw: Option<PathBuf> = None;
    let mut repeat = 1u32;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--draw" {
            draw = args.next().map(PathBuf::from);
        } else if a == "--repeat" {
            repeat = args.next().and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
        } else {
            files.push(a);
        }
    }
    if files.is_empty() {
        eprintln!("usage: repost_regions [--draw DIR] [--repeat N] FILE...");
        std::process::exit(2);
    }
    for f in files {
        let img = match image::open(&f) {
            Ok(i) => i.to_rgb8(),
            Err(e) => {
                eprintln!("{f}: {e}");
                continue;
            }
        };
        let (w, h) = img.dimensions();
        let t = Instant::now();
        let mut regions = find_regions(img.as_raw(), w, h);
        for _ in 1..repeat {
            regions = find_regions(img.as_raw(), w, h);
        }
        let ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(repeat);
        let desc: Vec<String> = regions
            .iter()
            .map(|r| {
                let [x, y, rw, rh] = r.rect;
                format!("{} {x},{y},{rw},{rh}", r.kind)
            })
            .collect();
        println!("{f}\t{w}x{h}\t{ms:.1}\t{}", desc.join("\t"));
        if let Some(dir) = &draw {
            let mut out = img.clone();
            for r in &regions {
                let [x, y, rw, rh] = r.rect;
                let col = match r.kind {
                    sightline_media::regions::RegionKind::Borderless => [255, 0, 255],
                    sightline_media::regions::RegionKind::ScreenshotPhoto => [0, 255, 0],
                };
                for k in 0..4u32 {
                    for xx in x..x + rw {
                        for yy in [y + k, (y + rh).saturating_sub(1 + k)] {
                            if xx < w && yy < h {
                                out.put_pixel(xx, yy, image::Rgb(col));
                            }
                        }
                    }
                    for yy in y..y + rh {
                        for xx in [x + k, (x + rw).saturating_sub(1 + k)] {
                            if xx < w && yy < h {
                                out.put_pixel(xx, yy, image::Rgb(col));
                            }
                        }
                    }
                }
            }
            let name = Path::new(&f)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let _ = out.save(dir.join(format!("{name}.png")));
        }
    }
}
