//! Weight sources: Hugging Face safetensors (single file or sharded) and GGUF files. Both answer
//! requests by Hugging Face tensor name, check the shape the config implies and name the file in
//! every error. Nothing in a model directory is ever executed.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor, gguf_file};
use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Tensor};

use crate::error::{EngineError, Result};

/// Where the transformer gets its tensors from, by Hugging Face name.
pub(crate) trait Weights {
    /// The tensor as f32, checked against `shape`.
    fn dense(&self, name: &str, shape: &[usize]) -> Result<Tensor>;
    /// A matmul weight `[out, in]`, kept quantized when the file is.
    fn linear(&self, name: &str, shape: &[usize]) -> Result<LinearWeight> {
        Ok(LinearWeight { prompt: QMatMul::Tensor(self.dense(name, shape)?), int8: None })
    }
    /// Whether the tensor exists.
    fn contains(&self, name: &str) -> bool;
    /// The device tensors are loaded to.
    fn device(&self) -> &Device;
}

/// The weight of one linear layer, possibly in two forms: one for prompts (many rows per matmul)
/// and an int8 one for decode steps (one row per sequence), where reading less memory is what counts.
pub(crate) struct LinearWeight {
    /// Used for prompts (unless `int8` is AMX tiles), and for decode steps when `int8` is `None`.
    pub prompt: QMatMul,
    /// Used for decode steps, and for prompts too when it is AMX tiles.
    pub int8: Option<Int8Weight>,
}

/// The int8 form of a quantized model's weight.
pub(crate) enum Int8Weight {
    /// Tiles for Intel AMX, where the CPU has it (see [`crate::amx`]).
    #[cfg(target_arch = "x86_64")]
    Amx(crate::amx::Matrix),
    /// candle's Q8_0 (its AVX512-VNNI and AVX2 kernels); inputs get `pad` zero columns, so the
    /// inner dimension is whole 256-blocks as those kernels need.
    Q8 { w: QMatMul, pad: usize },
}

impl Int8Weight {
    /// Whether this is AMX tiles, fast enough for prompts as well.
    pub(crate) fn is_amx(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        if let Self::Amx(_) = self {
            return true;
        }
        false
    }
}

/// Inner-dimension block of candle's Q8_0 decode weights (candle's k-quant super-block).
const DECODE_K_BLOCK: usize = 256;

fn check_shape(path: &Path, name: &str, got: &[usize], want: &[usize]) -> Result<()> {
    if got != want {
        return Err(EngineError::Tensor {
            path: path.into(),
            tensor: name.into(),
            message: format!(
                "shape {got:?} but config.json implies {want:?}; the weights do not belong to this config"
            ),
        });
    }
    Ok(())
}

/// Safetensors files of one checkpoint, memory-mapped.
pub(crate) struct SafetensorsWeights {
    files: Vec<(PathBuf, MmapedSafetensors)>,
    index: HashMap<String, usize>,
    device: Device,
    dtype: DType,
}

impl SafetensorsWeights {
    /// Opens `model.safetensors`, or the shards listed in `model.safetensors.index.json`.
    pub(crate) fn open(dir: &Path, device: &Device, dtype: DType) -> Result<Self> {
        let index_path = dir.join("model.safetensors.index.json");
        let single = dir.join("model.safetensors");
        let paths: Vec<PathBuf> = if index_path.exists() {
            let text = std::fs::read_to_string(&index_path).map_err(|e| EngineError::bad(&index_path, e))?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| EngineError::bad(&index_path, format!("invalid JSON: {e}")))?;
            let map = v
                .get("weight_map")
                .and_then(|m| m.as_object())
                .ok_or_else(|| EngineError::bad(&index_path, "no weight_map object; re-save the checkpoint"))?;
            let mut names: Vec<&str> = map.values().filter_map(|f| f.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            for n in &names {
                if n.contains('/') || n.contains("..") {
                    return Err(EngineError::bad(&index_path, format!("shard name {n:?} leaves the model directory")));
                }
            }
            names.iter().map(|n| dir.join(n)).collect()
        } else if single.exists() {
            vec![single]
        } else if dir.join("pytorch_model.bin").exists() || dir.join("pytorch_model.bin.index.json").exists() {
            return Err(EngineError::PickleOnly { path: dir.join("pytorch_model.bin") });
        } else {
            return Err(EngineError::Missing {
                path: single,
                hint: "the model directory needs model.safetensors or model.safetensors.index.json".into(),
            });
        };
        let mut files = Vec::with_capacity(paths.len());
        let mut index = HashMap::new();
        for p in paths {
            if !p.exists() {
                return Err(EngineError::Missing {
                    path: p,
                    hint: "a shard listed in model.safetensors.index.json is absent; download it again".into(),
                });
            }
            // SAFETY: the file is mapped read-only; ptb does not modify model files while serving them.
            let st = unsafe { MmapedSafetensors::new(&p) }.map_err(|e| {
                EngineError::bad(
                    &p,
                    format!("not a valid safetensors file ({e}); it may be truncated: download it again"),
                )
            })?;
            for (name, _) in st.tensors() {
                index.insert(name, files.len());
            }
            files.push((p, st));
        }
        Ok(Self { files, index, device: device.clone(), dtype })
    }
}

impl Weights for SafetensorsWeights {
    fn dense(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let Some(&i) = self.index.get(name) else {
            let path = self.files.first().map(|f| f.0.clone()).unwrap_or_default();
            return Err(EngineError::Tensor {
                path,
                tensor: name.into(),
                message: "missing; the checkpoint does not match its config.json".into(),
            });
        };
        let (path, st) = &self.files[i];
        let t = st.load(name, &self.device).map_err(|e| EngineError::Tensor {
            path: path.clone(),
            tensor: name.into(),
            message: format!("cannot read ({e})"),
        })?;
        check_shape(path, name, t.dims(), shape)?;
        Ok(t.to_dtype(self.dtype)?)
    }

    fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    fn device(&self) -> &Device {
        &self.device
    }
}

/// Models whose weights fit this many bytes as f32 are dequantized at load for prompts (candle's
/// f32 GEMM is several times faster than its quantized matmul on many rows) and requantized to int8
/// for decode steps (memory-bound: int8 reads a quarter of f32's bytes, and there are fast int8
/// kernels, AMX tiles or candle's Q8_0, but not for every GGUF type, e.g. Q4_1). On AMX the int8
/// form serves prompts too.
const DENSE_GGUF_BUDGET: usize = 2 << 30;

/// A GGUF file (llama architecture).
pub(crate) struct GgufWeights {
    path: PathBuf,
    /// Dequantize matmul weights to f32 for prompts and int8 for decode (small models, see
    /// [`DENSE_GGUF_BUDGET`]).
    dense_linears: bool,
    content: gguf_file::Content,
    reader: Mutex<File>,
    device: Device,
}

/// Maps a Hugging Face llama tensor name to its GGUF name.
fn gguf_name(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("model.layers.") {
        let (layer, part) = rest.split_once('.').unwrap_or((rest, ""));
        let (part, suffix) = part.rsplit_once('.').unwrap_or((part, ""));
        let g = match part {
            "self_attn.q_proj" => "attn_q",
            "self_attn.k_proj" => "attn_k",
            "self_attn.v_proj" => "attn_v",
            "self_attn.o_proj" => "attn_output",
            "mlp.gate_proj" => "ffn_gate",
            "mlp.up_proj" => "ffn_up",
            "mlp.down_proj" => "ffn_down",
            "input_layernorm" => "attn_norm",
            "post_attention_layernorm" => "ffn_norm",
            other => other,
        };
        return format!("blk.{layer}.{g}.{suffix}");
    }
    match name {
        "model.embed_tokens.weight" => "token_embd.weight".into(),
        "model.norm.weight" => "output_norm.weight".into(),
        "lm_head.weight" => "output.weight".into(),
        other => other.into(),
    }
}

impl GgufWeights {
    /// Reads the GGUF header (metadata and tensor table) of `path`.
    pub(crate) fn open(path: &Path, device: &Device) -> Result<Self> {
        let mut f = File::open(path).map_err(|e| EngineError::bad(path, e))?;
        let content = gguf_file::Content::read(&mut f).map_err(|e| {
            EngineError::bad(path, format!("not a valid GGUF file ({e}); it may be truncated: download it again"))
        })?;
        let len = f.metadata().map_err(|e| EngineError::bad(path, e))?.len();
        for (name, info) in &content.tensor_infos {
            let elems = info.shape.elem_count();
            let bytes = elems / info.ggml_dtype.block_size() * info.ggml_dtype.type_size();
            if content.tensor_data_offset + info.offset + bytes as u64 > len {
                return Err(EngineError::Tensor {
                    path: path.into(),
                    tensor: name.clone(),
                    message: "extends past the end of the file; the file is truncated: download it again".into(),
                });
            }
        }
        let f32_bytes: usize = content.tensor_infos.values().map(|i| i.shape.elem_count() * 4).sum();
        let dense_linears = f32_bytes <= DENSE_GGUF_BUDGET;
        Ok(Self { path: path.into(), dense_linears, content, reader: Mutex::new(f), device: device.clone() })
    }

    /// The GGUF metadata table.
    pub(crate) fn metadata(&self) -> &HashMap<String, gguf_file::Value> {
        &self.content.metadata
    }

    fn qtensor(&self, name: &str, shape: &[usize]) -> Result<candle_core::quantized::QTensor> {
        let g = gguf_name(name);
        let mut r = self.reader.lock().map_err(|_| EngineError::bad(&self.path, "reader lock poisoned"))?;
        let t = self.content.tensor(&mut *r, &g, &self.device).map_err(|e| EngineError::Tensor {
            path: self.path.clone(),
            tensor: g.clone(),
            message: format!("cannot read ({e})"),
        })?;
        check_shape(&self.path, &g, t.shape().dims(), shape)?;
        Ok(t)
    }
}

impl Weights for GgufWeights {
    fn dense(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        Ok(self.qtensor(name, shape)?.dequantize(&self.device)?)
    }

    fn linear(&self, name: &str, shape: &[usize]) -> Result<LinearWeight> {
        let q = self.qtensor(name, shape)?;
        if !self.dense_linears {
            return Ok(LinearWeight { prompt: QMatMul::from_qtensor(q)?, int8: None });
        }
        let dense = q.dequantize(&self.device)?;
        #[cfg(target_arch = "x86_64")]
        if crate::amx::available() && self.device.is_cpu() {
            let matrix = crate::amx::Matrix::quantize(&dense.flatten_all()?.to_vec1()?, shape[0], shape[1]);
            return Ok(LinearWeight { prompt: QMatMul::Tensor(dense), int8: Some(Int8Weight::Amx(matrix)) });
        }
        // candle's fastest x86 kernels (AVX512-VNNI) need the inner dimension in whole 256-blocks:
        // zero columns (and zero inputs, see `model::int8_products`) do not change the result.
        let pad = shape[1].next_multiple_of(DECODE_K_BLOCK) - shape[1];
        let padded = if pad > 0 { dense.pad_with_zeros(1, 0, pad)? } else { dense.clone() };
        let w = QMatMul::from_qtensor(QTensor::quantize(&padded, GgmlDType::Q8_0)?)?;
        Ok(LinearWeight { prompt: QMatMul::Tensor(dense), int8: Some(Int8Weight::Q8 { w, pad }) })
    }

    fn contains(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(&gguf_name(name))
    }

    fn device(&self) -> &Device {
        &self.device
    }
}
