//! Animated images: the first frame is hashed (as the reference does) and
//! the frame count recorded. `tests/data/animated-3-frames.webp` was made
//! with Pillow; the expected PDQ beside it is the reference oracle's
//! (`pdq_oracle.py --mode te`) on that file.

use std::path::Path;

use sightline_media::Limits;
use sightline_media::fingerprint::fingerprint_image;

#[test]
fn animated_webp_hashes_the_first_frame_and_counts_frames() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let bytes = std::fs::read(dir.join("animated-3-frames.webp")).expect("fixture");
    let csv =
        std::fs::read_to_string(dir.join("animated-3-frames.webp.expected.csv")).expect("expected");
    let row: Vec<&str> = csv.lines().nth(1).expect("a row").split(',').collect();
    let fp = fingerprint_image(&bytes, &Limits::default()).expect("fingerprints");
    assert_eq!(fp.frames, Some(3));
    assert_eq!(
        (fp.width.to_string(), fp.height.to_string()),
        (row[2].to_string(), row[3].to_string())
    );
    assert_eq!(
        fp.pdq.hash.to_string(),
        row[0],
        "first frame, as the reference hashes it"
    );
    assert_eq!(fp.pdq.quality.to_string(), row[1]);
}
