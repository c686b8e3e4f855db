// rust: main -> rust_target::rust_a -> rust_target::rust_b ->
// rust_target::rust_leaf (spins). Built with rustc directly (no cargo):
//   rustc -C opt-level=2 -C debuginfo=0 -C force-frame-pointers=no
// std's runtime (lang_start, __rust_begin_short_backtrace, ...) sits between
// the C `main` and rust_target::main.
use std::hint::black_box;

#[inline(never)]
pub fn rust_leaf(x: u64) -> u64 {
    let mut acc = x;
    // black_box(true) keeps the loop from being provably infinite, so the
    // function is not marked noreturn and the callers keep their frames.
    while black_box(true) {
        for _ in 0..1_000_000 {
            acc = acc
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            acc ^= acc >> 29;
        }
        acc = black_box(acc);
    }
    acc
}

#[inline(never)]
pub fn rust_b(x: u64) -> u64 {
    let r = black_box(rust_leaf(black_box(x + 1)));
    r.wrapping_add(2)
}

#[inline(never)]
pub fn rust_a(x: u64) -> u64 {
    let r = black_box(rust_b(black_box(x + 3)));
    r ^ 5
}

#[inline(never)]
fn main() {
    let r = black_box(rust_a(black_box(7)));
    if r == 1 {
        std::process::exit(3);
    }
}
