//! Every image metadata parser behind one entry: container walk (JPEG,
//! PNG, WebP, TIFF, HEIF), EXIF IFDs, XMP, PNG text, the thumbnail decode.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ex = sightline_metadata::Extractor::default();
    let _ = ex.image(data, None);
});
