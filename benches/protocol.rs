//! Throughput of the per-byte work on the hot path: frame header parsing, unmasking and
//! UTF-8 validation, at the payload sizes the issue names (16 B, 1 KiB, 64 KiB, 16 MiB).
//! Run with `cargo bench --bench protocol`; figures are reported in bytes per second.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wsecho::fuzzing::frame::header::parse_client_header;
use wsecho::fuzzing::frame::mask::apply_mask;
use wsecho::fuzzing::utf8::Utf8Validator;

const SIZES: [(usize, &str); 4] = [
    (16, "16B"),
    (1 << 10, "1KiB"),
    (64 << 10, "64KiB"),
    (16 << 20, "16MiB"),
];

fn unmask(c: &mut Criterion) {
    let mut group = c.benchmark_group("unmask");
    for (size, name) in SIZES {
        let mut buf = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| apply_mask(black_box(&mut buf), black_box([1, 2, 3, 4]), 0))
        });
    }
    group.finish();
}

fn utf8(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8");
    for (kind, unit) in [("ascii", "a"), ("mixed", "aé€😀")] {
        for (size, name) in SIZES {
            let text: Vec<u8> = unit.repeat(size / unit.len() + 1).into_bytes()[..size].to_vec();
            // Cut at a char boundary so the sample is valid UTF-8.
            let end = (0..=text.len())
                .rev()
                .find(|&i| std::str::from_utf8(&text[..i]).is_ok())
                .unwrap_or(0);
            let text = &text[..end];
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_function(BenchmarkId::new(kind, name), |b| {
                b.iter(|| {
                    let mut v = Utf8Validator::default();
                    v.feed(black_box(text)).and_then(|()| v.finish()).is_ok()
                })
            });
        }
    }
    group.finish();
}

fn header(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_header");
    let frames: [(&str, Vec<u8>); 3] = [
        ("7-bit length", vec![0x82, 0x94, 1, 2, 3, 4]),
        ("16-bit length", vec![0x82, 0xfe, 0x40, 0x00, 1, 2, 3, 4]),
        (
            "64-bit length",
            vec![0x82, 0xff, 0, 0, 0, 0, 0x01, 0, 0, 0, 1, 2, 3, 4],
        ),
    ];
    for (name, bytes) in &frames {
        group.throughput(Throughput::Elements(1));
        group.bench_function(*name, |b| b.iter(|| parse_client_header(black_box(bytes))));
    }
    group.finish();
}

criterion_group!(benches, unmask, utf8, header);
criterion_main!(benches);
