#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyway_fuzz::allowlist(data));
