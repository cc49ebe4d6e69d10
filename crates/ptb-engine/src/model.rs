//! One decoder-only transformer covering Llama, Qwen3, Gemma-3 and SmolLM3, written for batching:
//! every sequence owns its KV cache ([`SeqCache`]), linear layers run on all sequences of a step at
//! once, and attention runs per sequence at that sequence's own position.

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};

use crate::config::{Family, ModelConfig, RopeSpec};
use crate::error::Result;
use crate::kv::LayerKv;
use crate::weights::{Int8Weight, LinearWeight, Weights};

/// A linear layer: dense or quantized weight (see [`LinearWeight`]), optional bias.
struct Linear {
    w: LinearWeight,
    b: Option<Tensor>,
}

impl Linear {
    fn load(w: &dyn Weights, name: &str, out: usize, inp: usize, bias: bool) -> Result<Self> {
        let weight = w.linear(&format!("{name}.weight"), &[out, inp])?;
        let b = if bias { Some(w.dense(&format!("{name}.bias"), &[out])?) } else { None };
        Ok(Self { w: weight, b })
    }

    /// `x @ w^T + b`, with the int8 form of the weight when `int8` is set and the layer has one.
    fn forward(&self, x: &Tensor, int8: bool) -> Result<Tensor> {
        let [y] = project([self], x, int8)?;
        Ok(y)
    }

    fn add_bias(&self, y: Tensor) -> Result<Tensor> {
        Ok(match &self.b {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        })
    }
}

/// `x @ w^T + b` of layers sharing one input `x` (`[B, T, in]`): one layer, or Q/K/V, or gate/up.
/// With `int8` and int8 forms (AMX or candle's Q8_0) the input is quantized once and all products
/// run in one parallel region; otherwise each layer runs its prompt form. Each row is computed
/// independently of the others, so batching does not change results.
fn project<const N: usize>(layers: [&Linear; N], x: &Tensor, int8: bool) -> Result<[Tensor; N]> {
    let forms: Vec<&Int8Weight> = layers.iter().filter_map(|l| l.w.int8.as_ref()).collect();
    let ys = if int8 && forms.len() == N {
        int8_products(&forms, x)?
    } else {
        layers.iter().map(|l| Ok(l.w.prompt.forward(x)?)).collect::<Result<_>>()?
    };
    let outs: Vec<Tensor> = ys.into_iter().zip(layers).map(|(y, l)| l.add_bias(y)).collect::<Result<_>>()?;
    Ok(outs.try_into().unwrap_or_else(|_| unreachable!("one output per layer")))
}

/// `x @ w^T` for int8 forms sharing the input `x` (so sharing its inner dimension and padding);
/// one loader builds all forms of a model, so they are all of one kind.
fn int8_products(forms: &[&Int8Weight], x: &Tensor) -> Result<Vec<Tensor>> {
    let mut q8 = Vec::with_capacity(forms.len());
    #[cfg(target_arch = "x86_64")]
    let mut amx = Vec::with_capacity(forms.len());
    for f in forms {
        match f {
            #[cfg(target_arch = "x86_64")]
            Int8Weight::Amx(m) => amx.push(m),
            Int8Weight::Q8 { w, pad } => q8.push((w, *pad)),
        }
    }
    #[cfg(target_arch = "x86_64")]
    if !amx.is_empty() {
        let (b, t, k) = x.dims3()?;
        let rows = crate::amx::Rows::quantize(&host_f32(x)?, b * t, k);
        let ys = crate::amx::matmul(&amx, &rows).into_iter().zip(amx);
        return ys.map(|(y, m)| Ok(Tensor::from_vec(y, (b, t, m.n()), x.device())?)).collect();
    }
    let pad = q8.first().map_or(0, |(_, pad)| *pad);
    let x = if pad > 0 { x.pad_with_zeros(2, 0, pad)? } else { x.contiguous()? };
    let quantized: Option<Vec<&QTensor>> = q8
        .iter()
        .map(|(w, _)| match w {
            QMatMul::QTensor(q) => Some(q.as_ref()),
            _ => None,
        })
        .collect();
    if let Some(ys) = quantized.map(|qs| QTensor::gemv_fused_shared_lhs(&qs, &x)).transpose()?.flatten() {
        return Ok(ys);
    }
    q8.iter().map(|(w, _)| Ok(w.forward(&x)?)).collect()
}

/// RMSNorm; Gemma's `(1 + w)` weight is folded in at load time.
struct Norm {
    w: Tensor,
    eps: f32,
}

impl Norm {
    fn load(w: &dyn Weights, name: &str, dim: usize, cfg: &ModelConfig) -> Result<Self> {
        let mut t = w.dense(&format!("{name}.weight"), &[dim])?;
        if cfg.family == Family::Gemma3 {
            t = (t + 1.0)?;
        }
        Ok(Self { w: t, eps: cfg.rms_norm_eps as f32 })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::ops::rms_norm(&x.contiguous()?, &self.w, self.eps)?)
    }
}

struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    q_norm: Option<Norm>,
    k_norm: Option<Norm>,
    gate: Linear,
    up: Linear,
    down: Linear,
    input_norm: Norm,
    post_attn_norm: Norm,
    /// Gemma-3 only: norms around the MLP.
    pre_ff_norm: Option<Norm>,
    post_ff_norm: Option<Norm>,
    rope: Option<Vec<f32>>,
    window: Option<usize>,
}

/// The KV cache of one sequence, one [`LayerKv`] per layer, kept in host memory.
pub struct SeqCache {
    layers: Vec<LayerKv>,
    len: usize,
}

impl SeqCache {
    /// Number of positions already in the cache.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The elements of `t` as host f32, in row-major order.
fn host_f32(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1()?)
}

/// A `[B, heads, T, head_dim]` tensor as host floats in position-major order `[B, T, heads * head_dim]`.
fn position_major(t: &Tensor) -> Result<Vec<f32>> {
    host_f32(&t.transpose(1, 2)?)
}

/// The loaded transformer.
pub struct Transformer {
    cfg: ModelConfig,
    embed: Tensor,
    embed_scale: Option<f64>,
    layers: Vec<Layer>,
    norm: Norm,
    lm_head: Linear,
    /// Keep KV caches in bfloat16: set when decode steps use int8 weights, whose error is larger;
    /// checkpoints run in f32 keep f32 caches.
    bf16_kv: bool,
    /// Run prompts through the int8 weights too: set when they are AMX tiles, several times faster
    /// than f32 GEMM.
    int8_prompts: bool,
    device: Device,
}

fn inv_freq(spec: RopeSpec, head_dim: usize) -> Vec<f32> {
    (0..head_dim / 2)
        .map(|i| (1.0 / spec.theta.powf(2.0 * i as f64 / head_dim as f64) / spec.linear_factor) as f32)
        .collect()
}

impl Transformer {
    /// Builds the model from weights named as in Hugging Face checkpoints (`prefix` is the text
    /// model's prefix, e.g. `model.` or `model.language_model.`; `lm_head` the output weight's name).
    pub(crate) fn load(cfg: ModelConfig, w: &dyn Weights, prefix: &str, lm_head: &str) -> Result<Self> {
        let (h, hd) = (cfg.hidden_size, cfg.head_dim);
        let (qd, kvd) = (cfg.num_heads * hd, cfg.num_kv_heads * hd);
        let embed_name = format!("{prefix}embed_tokens.weight");
        let embed = w.dense(&embed_name, &[cfg.vocab_size, h])?;
        // A tied checkpoint may still store lm_head; an untied one must.
        let head_name = if w.contains(lm_head) || !cfg.tie_word_embeddings { lm_head } else { &embed_name };
        let lm_head = Linear { w: w.linear(head_name, &[cfg.vocab_size, h])?, b: None };
        let gemma = cfg.family == Family::Gemma3;
        let qk_norm = matches!(cfg.family, Family::Qwen3 | Family::Gemma3);
        let mut layers = Vec::with_capacity(cfg.layers.len());
        for (i, spec) in cfg.layers.iter().enumerate() {
            let p = format!("{prefix}layers.{i}.");
            let bias = cfg.attention_bias;
            layers.push(Layer {
                q: Linear::load(w, &format!("{p}self_attn.q_proj"), qd, h, bias)?,
                k: Linear::load(w, &format!("{p}self_attn.k_proj"), kvd, h, bias)?,
                v: Linear::load(w, &format!("{p}self_attn.v_proj"), kvd, h, bias)?,
                o: Linear::load(w, &format!("{p}self_attn.o_proj"), h, qd, bias)?,
                q_norm: qk_norm.then(|| Norm::load(w, &format!("{p}self_attn.q_norm"), hd, &cfg)).transpose()?,
                k_norm: qk_norm.then(|| Norm::load(w, &format!("{p}self_attn.k_norm"), hd, &cfg)).transpose()?,
                gate: Linear::load(w, &format!("{p}mlp.gate_proj"), cfg.intermediate_size, h, false)?,
                up: Linear::load(w, &format!("{p}mlp.up_proj"), cfg.intermediate_size, h, false)?,
                down: Linear::load(w, &format!("{p}mlp.down_proj"), h, cfg.intermediate_size, false)?,
                input_norm: Norm::load(w, &format!("{p}input_layernorm"), h, &cfg)?,
                post_attn_norm: Norm::load(w, &format!("{p}post_attention_layernorm"), h, &cfg)?,
                pre_ff_norm: gemma
                    .then(|| Norm::load(w, &format!("{p}pre_feedforward_layernorm"), h, &cfg))
                    .transpose()?,
                post_ff_norm: gemma
                    .then(|| Norm::load(w, &format!("{p}post_feedforward_layernorm"), h, &cfg))
                    .transpose()?,
                rope: spec.rope.map(|r| inv_freq(r, hd)),
                window: spec.window,
            });
        }
        let norm = Norm::load(w, &format!("{prefix}norm"), h, &cfg)?;
        let embed_scale = gemma.then(|| (h as f64).sqrt());
        let bf16_kv = lm_head.w.int8.is_some();
        let int8_prompts = lm_head.w.int8.as_ref().is_some_and(Int8Weight::is_amx);
        let device = w.device().clone();
        Ok(Self { embed, embed_scale, layers, norm, lm_head, bf16_kv, int8_prompts, device, cfg })
    }

    /// The normalised configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// A fresh, empty cache for one sequence.
    pub fn new_cache(&self) -> SeqCache {
        let kvd = self.cfg.num_kv_heads * self.cfg.head_dim;
        SeqCache { layers: (0..self.layers.len()).map(|_| LayerKv::new(kvd, self.bf16_kv)).collect(), len: 0 }
    }

    /// Runs `tokens` (`B` sequences of the same length `T`) through the model, extending each
    /// sequence's cache. Returns logits `[B, vocab]` of the last position, or `[B, T, vocab]` when
    /// `all_positions` is set.
    pub fn forward(&self, tokens: &[&[u32]], caches: &mut [&mut SeqCache], all_positions: bool) -> Result<Tensor> {
        let b = tokens.len();
        let t = tokens.first().map_or(0, |s| s.len());
        let flat: Vec<u32> = tokens.iter().flat_map(|s| s.iter().copied()).collect();
        let ids = Tensor::from_vec(flat, (b * t,), &self.device)?;
        let mut x = self.embed.index_select(&ids, 0)?.reshape((b, t, self.cfg.hidden_size))?;
        if let Some(s) = self.embed_scale {
            x = (x * s)?;
        }
        let starts: Vec<usize> = caches.iter().map(|c| c.len).collect();
        // A decode step feeds one new token per sequence. It uses the weights' int8 form, the same
        // for every batch size, so a sequence's tokens do not depend on its batch; prompts use it
        // too where it is AMX tiles.
        let decode = t == 1;
        let int8 = decode || self.int8_prompts;
        for (li, layer) in self.layers.iter().enumerate() {
            let residual = &x;
            let hn = layer.input_norm.forward(&x)?;
            let [q, k, v] = project([&layer.q, &layer.k, &layer.v], &hn, int8)?;
            let (q, k, v) = self.heads(layer, &q, &k, &v, &starts)?;
            let attn = self.attention(layer, li, &q, &k, &v, caches, &starts)?;
            let mut attn = layer.o.forward(&attn, int8)?;
            let h2 = match &layer.pre_ff_norm {
                Some(pre) => {
                    attn = layer.post_attn_norm.forward(&attn)?;
                    let x1 = (residual + attn)?;
                    let m = self.mlp(layer, &pre.forward(&x1)?, int8)?;
                    let m = layer.post_ff_norm.as_ref().expect("gemma has both feed-forward norms").forward(&m)?;
                    (x1 + m)?
                }
                None => {
                    let x1 = (residual + attn)?;
                    let m = self.mlp(layer, &layer.post_attn_norm.forward(&x1)?, int8)?;
                    (x1 + m)?
                }
            };
            x = h2;
        }
        for c in caches.iter_mut() {
            c.len += t;
        }
        let x = if all_positions { x } else { x.narrow(1, t - 1, 1)? };
        let x = self.norm.forward(&x)?;
        let logits = self.lm_head.forward(&x, int8)?;
        Ok(if all_positions { logits } else { logits.squeeze(1)? })
    }

    fn mlp(&self, layer: &Layer, x: &Tensor, int8: bool) -> Result<Tensor> {
        let [g, u] = project([&layer.gate, &layer.up], x, int8)?;
        let g = if self.cfg.family == Family::Gemma3 { g.gelu()? } else { candle_nn::ops::silu(&g)? };
        layer.down.forward(&(g * u)?, int8)
    }

    /// Splits the projections `[B, T, heads*head_dim]` of all sequences into heads `[B, heads, T,
    /// head_dim]` and applies the q/k norms and the rotary embedding at each sequence's own `starts`.
    fn heads(
        &self,
        layer: &Layer,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        starts: &[usize],
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let cfg = &self.cfg;
        let (b, t, _) = q.dims3()?;
        let hd = cfg.head_dim;
        let mut q = q.reshape((b, t, cfg.num_heads, hd))?;
        let mut k = k.reshape((b, t, cfg.num_kv_heads, hd))?;
        let v = v.reshape((b, t, cfg.num_kv_heads, hd))?.transpose(1, 2)?.contiguous()?;
        if let (Some(qn), Some(kn)) = (&layer.q_norm, &layer.k_norm) {
            q = qn.forward(&q)?;
            k = kn.forward(&k)?;
        }
        let mut q = q.transpose(1, 2)?.contiguous()?;
        let mut k = k.transpose(1, 2)?.contiguous()?;
        if let Some(freqs) = &layer.rope {
            let (cos, sin) = self.cos_sin(freqs, starts, t)?;
            if cfg.rope_interleaved {
                q = candle_nn::rotary_emb::rope_i(&q, &cos, &sin)?;
                k = candle_nn::rotary_emb::rope_i(&k, &cos, &sin)?;
            } else {
                q = candle_nn::rotary_emb::rope(&q, &cos, &sin)?;
                k = candle_nn::rotary_emb::rope(&k, &cos, &sin)?;
            }
        }
        Ok((q, k, v))
    }

    /// Attention of `T` new tokens per sequence (a prompt chunk, or one token in a decode step). `q`
    /// is `[B, heads, T, head_dim]`, `k` and `v` `[B, kv_heads, T, head_dim]`; each sequence's new keys
    /// and values join its cache of layer `li`, and each new token attends to the cache up to its own
    /// position (`starts[b] + t`), within the layer's window, in place. The `(sequence, token,
    /// key/value head)` units are shared out over candle's CPU worker threads; each is computed the
    /// same way whatever the batch, so a sequence's result does not depend on its companions.
    /// Returns `[B, T, heads * head_dim]`.
    #[allow(clippy::too_many_arguments)]
    fn attention(
        &self,
        layer: &Layer,
        li: usize,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        caches: &mut [&mut SeqCache],
        starts: &[usize],
    ) -> Result<Tensor> {
        let cfg = &self.cfg;
        let (b, t, hd, kv_heads) = (caches.len(), q.dim(2)?, cfg.head_dim, cfg.num_kv_heads);
        let (kvd, qd, n_rep) = (kv_heads * hd, cfg.num_heads * hd, cfg.num_heads / kv_heads);
        let (q, k, v) = (position_major(q)?, position_major(k)?, position_major(v)?);
        for (bi, cache) in caches.iter_mut().enumerate() {
            let rows = bi * t * kvd..(bi + 1) * t * kvd;
            for (key, value) in k[rows.clone()].chunks_exact(kvd).zip(v[rows].chunks_exact(kvd)) {
                cache.layers[li].push(key, value);
            }
        }
        let mut out = vec![0f32; b * t * qd];
        {
            // One unit per (sequence, token, key/value head): its `n_rep` query heads are adjacent.
            let units: Vec<std::sync::Mutex<&mut [f32]>> =
                out.chunks_mut(n_rep * hd).map(std::sync::Mutex::new).collect();
            let kvs: Vec<&LayerKv> = caches.iter().map(|c| &c.layers[li]).collect();
            let pool = candle_core::utils::barrier_pool();
            let threads = pool.n_workers() + 1;
            pool.execute(|tid| {
                for (u, slot) in units.iter().enumerate().skip(tid).step_by(threads) {
                    let (bt, g) = (u / kv_heads, u % kv_heads);
                    let (bi, ti) = (bt / t, bt % t);
                    let mut dst = slot.lock().unwrap_or_else(|p| p.into_inner());
                    let queries = &q[u * n_rep * hd..][..n_rep * hd];
                    let end = starts[bi] + ti + 1;
                    kvs[bi].attend(g, hd, end, layer.window, cfg.attn_scale as f32, queries, &mut dst);
                }
            });
        }
        Ok(Tensor::from_vec(out, (b, t, qd), &self.device)?.to_dtype(self.embed.dtype())?)
    }

    /// Rotary `cos`/`sin` tables `[B, T, head_dim/2]` for positions `start..start+T` of each sequence.
    fn cos_sin(&self, inv_freq: &[f32], starts: &[usize], t: usize) -> Result<(Tensor, Tensor)> {
        let half = inv_freq.len();
        let mut cos = Vec::with_capacity(starts.len() * t * half);
        let mut sin = Vec::with_capacity(starts.len() * t * half);
        for &start in starts {
            for p in start..start + t {
                for f in inv_freq {
                    let a = p as f32 * f;
                    cos.push(a.cos());
                    sin.push(a.sin());
                }
            }
        }
        let shape = (starts.len(), t, half);
        Ok((
            Tensor::from_vec(cos, shape, &self.device)?.to_dtype(self.embed.dtype())?,
            Tensor::from_vec(sin, shape, &self.device)?.to_dtype(self.embed.dtype())?,
        ))
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }
}
