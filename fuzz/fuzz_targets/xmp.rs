//! A bare XMP packet.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sightline_metadata::xmp_fields(data);
});
