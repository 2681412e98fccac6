//! ISO 6709 location strings as video containers carry them.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = sightline_metadata::video::parse_iso6709(s);
    }
});
