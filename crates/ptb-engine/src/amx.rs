//! int8 matrix products on Intel AMX (Advanced Matrix Extensions), for the decode form of quantized
//! models' weights.
//!
//! Weights are int8 with one f32 scale per output column and [`K_BLOCK`] inputs; activations are
//! int8 with one scale per row and [`K_BLOCK`] inputs. Within a block the tile unit sums exact int32
//! products (`tdpbssd`, four 64-input tiles); each block's sum is then scaled into an f32
//! accumulator. Every row is computed the same way whatever the number of rows, so batching does not
//! change a sequence's results. On 2 cores this is about twice candle's AVX512-VNNI Q8_0 kernel for 8
//! rows and faster for 1 row (`ptb bench engine`, README).

use std::arch::asm;
use std::arch::x86_64::{
    __cpuid_count, _mm_storeu_si128, _mm512_abs_ps, _mm512_cvtepi32_ps, _mm512_cvtps_epi32, _mm512_cvtsepi32_epi8,
    _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_loadu_si512, _mm512_max_ps, _mm512_mul_ps, _mm512_reduce_max_ps,
    _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};
use std::sync::OnceLock;

/// Inputs per scale block: four tiles of 64.
const K_BLOCK: usize = 256;
/// Inputs per tile.
const K_TILE: usize = 64;
/// Output columns per tile (16 int32 lanes of 64 bytes).
const COLS: usize = 16;
/// Rows per tile pass (the tile unit's maximum).
const MAX_ROWS: usize = 16;
/// Bytes of one weight tile: `K_TILE / 4` rows of `COLS * 4` bytes.
const TILE_BYTES: usize = K_TILE * COLS;

/// Whether this CPU has AMX-INT8 and AVX-512F and the kernel lets this process use the tile data
/// registers (Linux grants them on request, once per process). `PTB_ENGINE_NO_AMX=1` turns AMX off.
pub(crate) fn available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        if std::env::var_os("PTB_ENGINE_NO_AMX").is_some_and(|v| v == "1") {
            return false;
        }
        if !is_x86_feature_detected!("avx512f") {
            return false;
        }
        let leaf7 = __cpuid_count(7, 0);
        let (tile, int8) = (leaf7.edx & (1 << 24) != 0, leaf7.edx & (1 << 25) != 0);
        const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
        const XFEATURE_XTILEDATA: libc::c_long = 18;
        // SAFETY: arch_prctl with ARCH_REQ_XCOMP_PERM only changes this process's permitted state.
        tile && int8 && unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) } == 0
    })
}

/// A weight matrix `[n, k]` as int8 tiles: for each group of [`COLS`] output columns and each block
/// of [`K_BLOCK`] inputs, four tiles laid out as `tdpbssd` reads its second operand, and one scale
/// per column.
pub(crate) struct Matrix {
    n: usize,
    /// `k` rounded up to whole blocks (the extra inputs have zero weights).
    k: usize,
    tiles: Vec<i8>,
    /// `[group][block][COLS]`.
    scales: Vec<f32>,
}

impl Matrix {
    /// Quantizes `w` (`[n, k]`, row-major): each column's block scale is its largest magnitude / 127.
    /// The rows of `w` are the output columns, quantized exactly as activation rows are ([`Rows`]),
    /// then laid out as tiles.
    pub(crate) fn quantize(w: &[f32], n: usize, k: usize) -> Self {
        let rows = Rows::quantize(w, n, k);
        let (kp, blocks, groups) = (rows.k, rows.k / K_BLOCK, n.div_ceil(COLS));
        let mut tiles = vec![0i8; groups * blocks * K_BLOCK * COLS];
        let mut scales = vec![0f32; groups * blocks * COLS];
        for col in 0..n {
            let (g, c) = (col / COLS, col % COLS);
            for b in 0..blocks {
                scales[(g * blocks + b) * COLS + c] = rows.d[col * blocks + b];
                let block = &mut tiles[(g * blocks + b) * K_BLOCK * COLS..][..K_BLOCK * COLS];
                for (j, q) in rows.q[col * kp + b * K_BLOCK..][..K_BLOCK].iter().enumerate() {
                    // Tile j / 64, row (j % 64) / 4, column c, byte j % 4.
                    block[j / K_TILE * TILE_BYTES + j % K_TILE / 4 * COLS * 4 + c * 4 + j % 4] = *q;
                }
            }
        }
        Self { n, k: kp, tiles, scales }
    }

    /// Output columns.
    pub(crate) fn n(&self) -> usize {
        self.n
    }
}

/// The scale of a block whose largest magnitude is `max` (max / 127), and its inverse (0 for an
/// all-zero block).
fn scale_of_max(max: f32) -> (f32, f32) {
    let d = max / 127.0;
    (d, if d > 0.0 { 1.0 / d } else { 0.0 })
}

/// Rows of activations quantized for [`Matrix`] products.
pub(crate) struct Rows {
    m: usize,
    /// Row stride: the matrices' padded `k`.
    k: usize,
    q: Vec<i8>,
    /// `[row][block]`.
    d: Vec<f32>,
}

impl Rows {
    /// Quantizes `x` (`[m, k]`, row-major), padding each row to whole blocks.
    pub(crate) fn quantize(x: &[f32], m: usize, k: usize) -> Self {
        // SAFETY: `available()` (which checks AVX-512F) gates every use of this module.
        unsafe { Self::quantize_avx512(x, m, k) }
    }

    #[target_feature(enable = "avx512f")]
    fn quantize_avx512(x: &[f32], m: usize, k: usize) -> Self {
        let kp = k.next_multiple_of(K_BLOCK);
        let blocks = kp / K_BLOCK;
        let mut q = vec![0i8; m * kp];
        let mut d = vec![0f32; m * blocks];
        let mut padded = vec![0f32; kp];
        for r in 0..m {
            padded[..k].copy_from_slice(&x[r * k..][..k]);
            for b in 0..blocks {
                let src = &padded[b * K_BLOCK..][..K_BLOCK];
                let dst = &mut q[r * kp + b * K_BLOCK..][..K_BLOCK];
                let mut amax = _mm512_setzero_ps();
                for v in src.chunks_exact(16) {
                    // SAFETY: `v` holds 16 floats.
                    amax = _mm512_max_ps(amax, _mm512_abs_ps(unsafe { _mm512_loadu_ps(v.as_ptr()) }));
                }
                let (s, inv) = scale_of_max(_mm512_reduce_max_ps(amax));
                d[r * blocks + b] = s;
                let inv = _mm512_set1_ps(inv);
                for (v, out) in src.chunks_exact(16).zip(dst.chunks_exact_mut(16)) {
                    // SAFETY: `v` holds 16 floats and `out` 16 bytes. The conversion rounds to
                    // nearest even (the default rounding mode).
                    unsafe {
                        let i = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(v.as_ptr()), inv));
                        _mm_storeu_si128(out.as_mut_ptr().cast(), _mm512_cvtsepi32_epi8(i));
                    }
                }
            }
        }
        Self { m, k: kp, q, d }
    }
}

/// `outs[i] = rows @ mats[i]^T` (`[m, n_i]` each) for matrices sharing the input; the column groups
/// of all of them are shared out over candle's CPU worker threads.
pub(crate) fn matmul(mats: &[&Matrix], rows: &Rows) -> Vec<Vec<f32>> {
    // The kernel reads whole blocks of both; a mismatch would read out of bounds.
    assert!(mats.iter().all(|w| w.k == rows.k), "AMX product of matrices and rows of different widths");
    let mut outs: Vec<Vec<f32>> = mats.iter().map(|w| vec![0f32; rows.m * w.n]).collect();
    let units: Vec<(usize, usize)> =
        mats.iter().enumerate().flat_map(|(i, w)| (0..w.n.div_ceil(COLS)).map(move |g| (i, g))).collect();
    let ptrs: Vec<usize> = outs.iter_mut().map(|o| o.as_mut_ptr() as usize).collect();
    let pool = candle_core::utils::barrier_pool();
    let threads = pool.n_workers() + 1;
    pool.execute(|tid| {
        let per = units.len().div_ceil(threads);
        let mine = &units[(tid * per).min(units.len())..((tid + 1) * per).min(units.len())];
        // SAFETY: `available()` was checked when the matrices were built; each unit writes only its
        // own column group of its own output, so threads never write the same element.
        unsafe { run_units(mats, rows, mine, &ptrs) };
    });
    outs
}

#[repr(C, align(64))]
struct TileConfig([u8; 64]);

/// Palette 1: tmm0 the int32 sums (`rows` x 64 bytes), tmm1/tmm3 activations (`rows` x 64 bytes),
/// tmm2/tmm4 weights (16 x 64 bytes).
fn tile_config(rows: usize) -> TileConfig {
    let mut c = [0u8; 64];
    c[0] = 1;
    let r = rows as u8;
    for (tile, rows, bytes) in [(0, r, 64u16), (1, r, K_TILE as u16), (2, 16, 64), (3, r, K_TILE as u16), (4, 16, 64)] {
        c[16 + 2 * tile..18 + 2 * tile].copy_from_slice(&bytes.to_le_bytes());
        c[48 + tile] = rows;
    }
    TileConfig(c)
}

#[target_feature(enable = "avx512f")]
unsafe fn run_units(mats: &[&Matrix], rows: &Rows, units: &[(usize, usize)], outs: &[usize]) {
    if units.is_empty() {
        return;
    }
    let blocks = rows.k / K_BLOCK;
    let mut sums = [0i32; MAX_ROWS * COLS];
    for r0 in (0..rows.m).step_by(MAX_ROWS) {
        let m = (rows.m - r0).min(MAX_ROWS);
        let config = tile_config(m);
        // SAFETY: the tile registers are granted (see `available`) and the config is valid.
        unsafe { asm!("ldtilecfg [{}]", in(reg) config.0.as_ptr(), options(nostack, readonly)) };
        for &(i, g) in units {
            let w = mats[i];
            let mut acc = [_mm512_setzero_ps(); MAX_ROWS];
            for b in 0..blocks {
                // SAFETY: both pointers address whole blocks inside their buffers: the weight block
                // holds four 1024-byte tiles; each of the `m` activation rows holds `K_BLOCK` bytes
                // from `act`, `rows.k` bytes apart; `sums` holds `m` rows of 64 bytes.
                unsafe {
                    let weights = w.tiles.as_ptr().add((g * blocks + b) * K_BLOCK * COLS);
                    let act = rows.q.as_ptr().add(r0 * rows.k + b * K_BLOCK);
                    asm!(
                        "tilezero tmm0",
                        "tileloadd tmm1, [{a} + {a_stride} * 1]",
                        "tileloadd tmm2, [{w} + {stride} * 1]",
                        "tileloadd tmm3, [{a} + {a_stride} * 1 + 64]",
                        "tileloadd tmm4, [{w} + {stride} * 1 + 1024]",
                        "tdpbssd tmm0, tmm1, tmm2",
                        "tileloadd tmm1, [{a} + {a_stride} * 1 + 128]",
                        "tileloadd tmm2, [{w} + {stride} * 1 + 2048]",
                        "tdpbssd tmm0, tmm3, tmm4",
                        "tileloadd tmm3, [{a} + {a_stride} * 1 + 192]",
                        "tileloadd tmm4, [{w} + {stride} * 1 + 3072]",
                        "tdpbssd tmm0, tmm1, tmm2",
                        "tdpbssd tmm0, tmm3, tmm4",
                        "tilestored [{s} + {stride} * 1], tmm0",
                        a = in(reg) act,
                        a_stride = in(reg) rows.k,
                        w = in(reg) weights,
                        stride = in(reg) 64usize,
                        s = in(reg) sums.as_mut_ptr(),
                        options(nostack)
                    );
                }
                let dw = unsafe { _mm512_loadu_ps(w.scales.as_ptr().add((g * blocks + b) * COLS)) };
                for (r, acc) in acc.iter_mut().enumerate().take(m) {
                    // SAFETY: row r of `sums` is 16 int32s; `d` has `blocks` scales per row.
                    let (s, da) = unsafe {
                        (
                            _mm512_loadu_si512(sums.as_ptr().add(r * COLS).cast()),
                            *rows.d.get_unchecked((r0 + r) * blocks + b),
                        )
                    };
                    *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(da)), *acc);
                }
            }
            let cols = (w.n - g * COLS).min(COLS);
            let out = outs[i] as *mut f32;
            for (r, acc) in acc.iter().enumerate().take(m) {
                let mut lane = [0f32; COLS];
                // SAFETY: `lane` holds 16 floats; the output row has `w.n` columns, of which this
                // group owns `cols` from `g * COLS`.
                unsafe {
                    _mm512_storeu_ps(lane.as_mut_ptr(), *acc);
                    std::ptr::copy_nonoverlapping(lane.as_ptr(), out.add((r0 + r) * w.n + g * COLS), cols);
                }
            }
        }
    }
    // SAFETY: releases this thread's tile state.
    unsafe { asm!("tilerelease", options(nostack, nomem)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scalar reference of a block's quantization: its scale and the scale's inverse.
    fn scale(block: &[f32]) -> (f32, f32) {
        scale_of_max(block.iter().fold(0f32, |m, x| m.max(x.abs())))
    }

    fn quant(x: f32, inv: f32) -> i8 {
        (x * inv).round_ties_even() as i8
    }

    /// Products match f32 within int8 quantization error, for row counts below, at and above one
    /// tile pass, with ragged `n` and `k`; and a row's result does not depend on the other rows.
    #[test]
    fn matches_f32_and_is_independent_of_the_row_count() {
        if !available() {
            eprintln!("skipped: no AMX on this CPU");
            return;
        }
        let (n, k) = (40, 300);
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 37 % 101) as f32 / 50.0 - 1.0) * (1.0 + (i % 7) as f32)).collect();
        let mat = Matrix::quantize(&w, n, k);
        let x: Vec<f32> = (0..20 * k).map(|i| (i * 53 % 97) as f32 / 48.0 - 1.0).collect();
        let full = matmul(&[&mat], &Rows::quantize(&x, 20, k)).remove(0);
        for r in 0..20 {
            for c in 0..n {
                let want: f32 = (0..k).map(|j| x[r * k + j] * w[c * k + j]).sum();
                let scale: f32 = (0..k).map(|j| (x[r * k + j] * w[c * k + j]).abs()).sum();
                assert!((full[r * n + c] - want).abs() <= 0.02 * scale, "row {r} col {c}");
            }
        }
        let rows = Rows::quantize(&x[..k], 1, k);
        for b in 0..rows.k / K_BLOCK {
            let src = &x[(b * K_BLOCK).min(k)..((b + 1) * K_BLOCK).min(k)];
            let (d, inv) = scale(src);
            assert_eq!(rows.d[b], d);
            assert!(src.iter().zip(&rows.q[b * K_BLOCK..]).all(|(v, q)| quant(*v, inv) == *q));
        }
        for m in [1, 3, 16] {
            let part = matmul(&[&mat], &Rows::quantize(&x[..m * k], m, k)).remove(0);
            assert_eq!(part, full[..m * n], "{m} rows");
        }
    }
}
