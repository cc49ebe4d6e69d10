//! The KV cache of one layer of one sequence, in host memory, and the attention of one new token
//! over it (prompt chunks and decode steps alike).
//!
//! Keys are stored transposed in blocks of [`KEY_BLOCK`] positions, each block
//! `[kv_heads][head_dim][KEY_BLOCK]`, so a query's scores against a block are vertical
//! multiply-adds; values are position-major `[len][kv_heads * head_dim]`, so weighting them is a run
//! of contiguous multiply-adds. Elements are f32 or bfloat16 ([`Bf16`], half the memory traffic,
//! which is what a decode step over many sequences waits on).
//!
//! Scores against a key block are computed for the whole block; positions past the token's own
//! (a prompt chunk's later tokens, or the block's unused tail) are left out of the softmax.

/// Positions per key block: four 16-lane vectors of scores, so the multiply-adds of one query
/// against a block form four independent chains.
const KEY_BLOCK: usize = 64;

/// Output dimensions accumulated in registers at a time when weighting values.
const VALUE_CHUNK: usize = 64;

/// An element type of the cache.
pub(crate) trait Element: Copy + Default {
    fn from_f32(x: f32) -> Self;
    fn to_f32(self) -> f32;
}

impl Element for f32 {
    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        x
    }

    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
}

/// bfloat16: the upper half of an f32's bits, rounded to nearest even. Converting is integer
/// arithmetic, exact and identical on every CPU.
#[derive(Clone, Copy, Default)]
pub(crate) struct Bf16(u16);

impl Element for Bf16 {
    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        let b = x.to_bits();
        Bf16((b.wrapping_add(0x7FFF + ((b >> 16) & 1)) >> 16) as u16)
    }

    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from_bits((self.0 as u32) << 16)
    }
}

/// Keys and values of one layer of one sequence.
pub(crate) enum LayerKv {
    F32(Buffer<f32>),
    Bf16(Buffer<Bf16>),
}

/// The storage of [`LayerKv`] for one element type (layout in the module docs).
pub(crate) struct Buffer<T> {
    k: Vec<T>,
    v: Vec<T>,
    /// `kv_heads * head_dim`.
    kvd: usize,
    len: usize,
}

impl LayerKv {
    /// An empty cache for `kvd = kv_heads * head_dim` values per position.
    pub(crate) fn new(kvd: usize, bf16: bool) -> Self {
        if bf16 { Self::Bf16(Buffer::new(kvd)) } else { Self::F32(Buffer::new(kvd)) }
    }

    /// Appends one position's key and value (`[kv_heads * head_dim]` each).
    pub(crate) fn push(&mut self, key: &[f32], value: &[f32]) {
        match self {
            Self::F32(b) => b.push(key, value),
            Self::Bf16(b) => b.push(key, value),
        }
    }

    /// Attention of one token's query heads in `queries` (`[n_rep * head_dim]`) that share
    /// key/value head `g`, over positions before `end` (the token's own position + 1), the last
    /// `window` of them (all when `None`); writes their outputs to `out` (`[n_rep * head_dim]`). The
    /// arithmetic and its order are the same on every CPU: the wide-vector builds only let the
    /// compiler put the same lanes in wider registers.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn attend(
        &self,
        g: usize,
        hd: usize,
        end: usize,
        window: Option<usize>,
        scale: f32,
        queries: &[f32],
        out: &mut [f32],
    ) {
        let q = Query { g, hd, end, window, scale, queries };
        match self {
            Self::F32(b) => attend(b, &q, out),
            Self::Bf16(b) => attend(b, &q, out),
        }
    }
}

impl<T: Element> Buffer<T> {
    fn new(kvd: usize) -> Self {
        Self { k: Vec::new(), v: Vec::new(), kvd, len: 0 }
    }

    fn push(&mut self, key: &[f32], value: &[f32]) {
        let (kvd, col) = (self.kvd, self.len % KEY_BLOCK);
        if col == 0 {
            self.k.resize(self.k.len() + kvd * KEY_BLOCK, T::default());
        }
        let block = self.k.len() - kvd * KEY_BLOCK;
        for (i, x) in key.iter().enumerate() {
            self.k[block + i * KEY_BLOCK + col] = T::from_f32(*x);
        }
        self.v.extend(value.iter().map(|x| T::from_f32(*x)));
        self.len += 1;
    }
}

/// The queries of one [`LayerKv::attend`] call.
struct Query<'a> {
    g: usize,
    hd: usize,
    end: usize,
    window: Option<usize>,
    scale: f32,
    queries: &'a [f32],
}

/// Runs [`attend_lanes`] compiled for the widest vector unit the CPU has.
fn attend<T: Element>(kv: &Buffer<T>, q: &Query, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports AVX-512F and FMA (checked just above).
            return unsafe { attend_avx512(kv, q, out) };
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            return unsafe { attend_avx2(kv, q, out) };
        }
    }
    attend_lanes(kv, q, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn attend_avx512<T: Element>(kv: &Buffer<T>, q: &Query, out: &mut [f32]) {
    attend_lanes(kv, q, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn attend_avx2<T: Element>(kv: &Buffer<T>, q: &Query, out: &mut [f32]) {
    attend_lanes(kv, q, out)
}

/// The body of [`attend`], written in fixed-size lanes ([`KEY_BLOCK`] scores, [`VALUE_CHUNK`]
/// outputs) so it vectorises; every multiply-add is fused (`mul_add`), which rounds the same on
/// every CPU.
#[inline(always)]
fn attend_lanes<T: Element>(kv: &Buffer<T>, q: &Query, out: &mut [f32]) {
    let (kvd, total, hd, g) = (kv.kvd, q.end.min(kv.len), q.hd, q.g);
    let first = q.window.map_or(0, |w| total.saturating_sub(w));
    // Scores are computed for whole key blocks, from the start of `first`'s block.
    let (b0, b1) = (first / KEY_BLOCK, total.div_ceil(KEY_BLOCK));
    let span = (b1 - b0) * KEY_BLOCK;
    let mut scores = vec![0f32; q.queries.len() / hd * span];
    for b in b0..b1 {
        let keys = &kv.k[b * kvd * KEY_BLOCK + g * hd * KEY_BLOCK..][..hd * KEY_BLOCK];
        for (query, row) in q.queries.chunks_exact(hd).zip(scores.chunks_exact_mut(span)) {
            let mut acc = [0f32; KEY_BLOCK];
            for (x, key) in query.iter().zip(keys.chunks_exact(KEY_BLOCK)) {
                for i in 0..KEY_BLOCK {
                    acc[i] = x.mul_add(key[i].to_f32(), acc[i]);
                }
            }
            for (s, a) in row[(b - b0) * KEY_BLOCK..][..KEY_BLOCK].iter_mut().zip(acc) {
                *s = a * q.scale;
            }
        }
    }
    let (lo, hi) = (first - b0 * KEY_BLOCK, total - b0 * KEY_BLOCK);
    out.fill(0.0);
    for (row, o) in scores.chunks_exact_mut(span).zip(out.chunks_exact_mut(hd)) {
        let row = &mut row[lo..hi];
        softmax(row);
        let base = g * hd;
        let mut chunks = o.chunks_exact_mut(VALUE_CHUNK);
        for (c, dst) in chunks.by_ref().enumerate() {
            let mut acc = [0f32; VALUE_CHUNK];
            for (p, pos) in row.iter().zip(first..total) {
                let value = &kv.v[pos * kvd + base + c * VALUE_CHUNK..][..VALUE_CHUNK];
                for i in 0..VALUE_CHUNK {
                    acc[i] = p.mul_add(value[i].to_f32(), acc[i]);
                }
            }
            dst.copy_from_slice(&acc);
        }
        let rest = chunks.into_remainder();
        let offset = base + hd - rest.len();
        for (p, pos) in row.iter().zip(first..total) {
            for (o, v) in rest.iter_mut().zip(&kv.v[pos * kvd + offset..]) {
                *o = p.mul_add(v.to_f32(), *o);
            }
        }
    }
}

/// In-place softmax, vectorised: the maximum and the sum in [`KEY_BLOCK`] lanes (see [`fold_lanes`]),
/// the exponentials branch-free.
#[inline(always)]
fn softmax(row: &mut [f32]) {
    let max = fold_lanes(row, f32::NEG_INFINITY, f32::max);
    for x in row.iter_mut() {
        *x = exp(*x - max);
    }
    let inv = 1.0 / fold_lanes(row, 0.0, |a, x| a + x);
    for x in row.iter_mut() {
        *x *= inv;
    }
}

/// Folds `row` with `f` in [`KEY_BLOCK`] independent lanes, so the compiler can vectorise it, then
/// folds the tail and the lanes in a fixed order.
#[inline(always)]
fn fold_lanes(row: &[f32], init: f32, f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [init; KEY_BLOCK];
    let chunks = row.chunks_exact(KEY_BLOCK);
    let tail = chunks.remainder().iter().fold(init, |a, x| f(a, *x));
    for c in chunks {
        for i in 0..KEY_BLOCK {
            lanes[i] = f(lanes[i], c[i]);
        }
    }
    lanes.iter().fold(tail, |a, x| f(a, *x))
}

/// `e^x` for `x <= 0` (softmax inputs): Cephes' range reduction and degree-5 polynomial, branch-free
/// so it vectorises; within 2 ulp of the exact value, and 0 below -87.
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1)
        * r
        + 0.5;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_close_to_std() {
        for i in 0..=8700 {
            let x = -(i as f32) / 100.0;
            let (got, want) = (exp(x), x.exp());
            assert!((got - want).abs() <= want * 4e-7 + 1e-37, "exp({x}) = {got}, want {want}");
        }
    }

    #[test]
    fn bf16_rounds_to_nearest_even() {
        assert_eq!(Bf16::from_f32(1.0).to_f32(), 1.0);
        // 1 + 2^-8 is halfway between two bf16 values; ties go to the even one (1.0).
        assert_eq!(Bf16::from_f32(1.0 + 1.0 / 256.0).to_f32(), 1.0);
        assert_eq!(Bf16::from_f32(1.0 + 3.0 / 256.0).to_f32(), 1.0 + 4.0 / 256.0);
        assert_eq!(Bf16::from_f32(-2.5).to_f32(), -2.5);
    }

    /// The blocked cache gives the attention of the plain formula, up to an end position, with a
    /// window and across blocks.
    #[test]
    fn attention_matches_the_formula() {
        let (kv_heads, hd, n_rep) = (2, 4, 3);
        let kvd = kv_heads * hd;
        let mut kv = LayerKv::new(kvd, false);
        let (mut keys, mut values) = (Vec::new(), Vec::new());
        for pos in 0..37 {
            let k: Vec<f32> = (0..kvd).map(|i| ((pos * 7 + i * 3) % 11) as f32 / 10.0 - 0.5).collect();
            let v: Vec<f32> = (0..kvd).map(|i| ((pos * 5 + i) % 13) as f32 / 6.0 - 1.0).collect();
            kv.push(&k, &v);
            keys.push(k);
            values.push(v);
        }
        let queries: Vec<f32> = (0..n_rep * hd).map(|i| (i as f32 * 0.37).sin()).collect();
        for (end, window) in [(37, None), (37, Some(20)), (37, Some(5)), (30, None), (30, Some(7))] {
            let g = 1;
            let mut out = vec![0f32; n_rep * hd];
            kv.attend(g, hd, end, window, 0.5, &queries, &mut out);
            let first = window.map_or(0, |w| end - w);
            for r in 0..n_rep {
                let q = &queries[r * hd..][..hd];
                let s: Vec<f64> = (first..end)
                    .map(|p| 0.5 * (0..hd).map(|d| (q[d] * keys[p][g * hd + d]) as f64).sum::<f64>())
                    .collect();
                let m = s.iter().cloned().fold(f64::MIN, f64::max);
                let z: f64 = s.iter().map(|x| (x - m).exp()).sum();
                for d in 0..hd {
                    let want: f64 =
                        s.iter().zip(first..end).map(|(x, p)| (x - m).exp() / z * values[p][g * hd + d] as f64).sum();
                    let got = out[r * hd + d] as f64;
                    assert!((got - want).abs() < 1e-5, "end {end} window {window:?} head {r} dim {d}: {got} vs {want}");
                }
            }
        }
    }
}
