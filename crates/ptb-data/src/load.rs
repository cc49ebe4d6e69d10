//! Record loaders: every supported file becomes a list of JSON objects, in the order of the file.

use std::io::Read;
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Number, Value};

use crate::DataError;

/// One record: a JSON object with the file's field names as keys.
pub type Record = Map<String, Value>;

/// The formats the loaders read, chosen by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (`.jsonl`, `.jsonl.gz`).
    JsonLines,
    /// A JSON array of objects, or JSON lines in a `.json` file as BFCL ships them (`.json`, `.json.gz`).
    Json,
    /// Apache Parquet (`.parquet`).
    Parquet,
    /// Comma-separated values with a header row (`.csv`); every value is a string.
    Csv,
}

impl Format {
    /// The format and whether the file is gzip-compressed, from the file name; `None` if unsupported.
    pub fn of(path: &Path) -> Option<(Format, bool)> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let (stem, gz) = match name.strip_suffix(".gz") {
            Some(stem) => (stem, true),
            None => (name.as_str(), false),
        };
        let format = match Path::new(stem).extension()?.to_str()? {
            "jsonl" => Format::JsonLines,
            "json" => Format::Json,
            "parquet" if !gz => Format::Parquet,
            "csv" if !gz => Format::Csv,
            _ => return None,
        };
        Some((format, gz))
    }
}

/// Reads every record of a `.jsonl`, `.json`, `.jsonl.gz`, `.json.gz`, `.parquet` or `.csv` file, in file
/// order. A malformed record is an error naming the file and its line.
pub fn read_records(path: &Path) -> Result<Vec<Record>, DataError> {
    let Some((format, gz)) = Format::of(path) else {
        return Err(DataError::UnsupportedFormat { path: path.to_path_buf() });
    };
    match format {
        Format::Parquet => read_parquet(path),
        Format::JsonLines | Format::Json | Format::Csv => {
            let file = std::fs::File::open(path).map_err(DataError::io("open", path))?;
            let mut bytes = Vec::new();
            let read = if gz {
                flate2::read::MultiGzDecoder::new(file).read_to_end(&mut bytes)
            } else {
                std::io::BufReader::new(file).read_to_end(&mut bytes)
            };
            read.map_err(DataError::io(if gz { "decompress" } else { "read" }, path))?;
            let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            match format {
                Format::Csv => parse_csv(path, text),
                Format::Json if text.trim_ascii_start().starts_with(b"[") => parse_json_array(path, text),
                _ => parse_json_lines(path, text),
            }
        }
    }
}

fn malformed(path: &Path, line: u64, message: impl Into<String>) -> DataError {
    DataError::Malformed { path: path.to_path_buf(), line, message: message.into() }
}

/// serde_json's message without its trailing "at line L column C", which would repeat the position.
fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let message = text.rsplit_once(" at line ").map_or(text.as_str(), |(m, _)| m);
    format!("{message} (column {})", e.column())
}

fn parse_json_lines(path: &Path, text: &[u8]) -> Result<Vec<Record>, DataError> {
    let mut out = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let record: Record =
            serde_json::from_slice(line).map_err(|e| malformed(path, i as u64 + 1, json_message(&e)))?;
        out.push(record);
    }
    Ok(out)
}

fn parse_json_array(path: &Path, text: &[u8]) -> Result<Vec<Record>, DataError> {
    serde_json::from_slice::<Vec<Record>>(text).map_err(|e| malformed(path, e.line() as u64, json_message(&e)))
}

fn parse_csv(path: &Path, text: &[u8]) -> Result<Vec<Record>, DataError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text);
    let csv_error = |e: csv::Error| {
        let line = e.position().map_or(1, |p| p.line());
        let message = match e.kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                format!("{len} fields where the header has {expected_len}")
            }
            _ => e.to_string(),
        };
        malformed(path, line, message)
    };
    let headers: Vec<String> = reader.headers().map_err(csv_error)?.iter().map(str::to_string).collect();
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(csv_error)?;
        out.push(headers.iter().cloned().zip(row.iter().map(|v| Value::String(v.to_string()))).collect());
    }
    Ok(out)
}

fn read_parquet(path: &Path) -> Result<Vec<Record>, DataError> {
    let parquet_error =
        |e: &dyn std::fmt::Display| DataError::Parquet { path: path.to_path_buf(), message: e.to_string() };
    let file = std::fs::File::open(path).map_err(DataError::io("open", path))?;
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(file).and_then(|b| b.build()).map_err(|e| parquet_error(&e))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| parquet_error(&e))?;
        append_batch(&batch, &mut out);
    }
    Ok(out)
}

/// Appends the rows of an Arrow record batch as JSON objects.
fn append_batch(batch: &RecordBatch, out: &mut Vec<Record>) {
    let schema = batch.schema();
    for row in 0..batch.num_rows() {
        let record = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(field, column)| (field.name().clone(), cell(column.as_ref(), row)))
            .collect();
        out.push(record);
    }
}

fn float(v: f64) -> Value {
    Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// One cell of an Arrow array as JSON: strings, integers, floats (NaN and infinities become null),
/// booleans, nulls, lists and structs; other types (dates, decimals, …) as their display string.
fn cell(array: &dyn Array, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int8 => array.as_primitive::<Int8Type>().value(row).into(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row).into(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row).into(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).into(),
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(row).into(),
        DataType::UInt16 => array.as_primitive::<UInt16Type>().value(row).into(),
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(row).into(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row).into(),
        DataType::Float16 => float(array.as_primitive::<Float16Type>().value(row).to_f64()),
        DataType::Float32 => float(array.as_primitive::<Float32Type>().value(row).into()),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => array.as_string::<i32>().value(row).into(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row).into(),
        DataType::Utf8View => array.as_string_view().value(row).into(),
        DataType::Binary => bytes(array.as_binary::<i32>().value(row)),
        DataType::LargeBinary => bytes(array.as_binary::<i64>().value(row)),
        DataType::List(_) => list(array.as_list::<i32>().value(row).as_ref()),
        DataType::LargeList(_) => list(array.as_list::<i64>().value(row).as_ref()),
        DataType::FixedSizeList(..) => list(array.as_fixed_size_list().value(row).as_ref()),
        DataType::Struct(fields) => {
            let s = array.as_struct();
            fields.iter().zip(s.columns()).map(|(f, c)| (f.name().clone(), cell(c.as_ref(), row))).collect()
        }
        DataType::Map(..) => {
            let entries = array.as_map().value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            (0..entries.len())
                .map(|i| {
                    let key = match cell(keys.as_ref(), i) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, cell(values.as_ref(), i))
                })
                .collect()
        }
        DataType::Dictionary(..) => {
            let dict = array.as_any_dictionary();
            cell(dict.keys(), row).as_u64().map_or(Value::Null, |k| cell(dict.values().as_ref(), k as usize))
        }
        _ => arrow::util::display::array_value_to_string(array, row).map_or(Value::Null, Value::String),
    }
}

fn list(values: &dyn Array) -> Value {
    Value::Array((0..values.len()).map(|i| cell(values, i)).collect())
}

/// Binary cells: the text when it is UTF-8, else the byte values.
fn bytes(b: &[u8]) -> Value {
    match std::str::from_utf8(b) {
        Ok(s) => s.into(),
        Err(_) => Value::Array(b.iter().map(|&x| x.into()).collect()),
    }
}
