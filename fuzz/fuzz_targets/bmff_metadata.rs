//! The project's own ISO-BMFF metadata reader (©xyz, Apple keys, loci,
//! display matrices), without ffprobe.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sightline_metadata::video::read_bmff_bytes(data);
});
