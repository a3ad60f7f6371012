//! The row writers: CSV (UTF-8, a header line, empty cells for absent values) and Parquet (the
//! plain column writer, snappy pages, a row group every [`ROWS_PER_GROUP`] rows, so memory holds
//! one row group at most).

use std::fs::File;
use std::io::BufWriter;
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::extract::ExtractError;
use crate::extract::columns::{Cell, ExtractRow};

/// Rows buffered before a Parquet row group is written.
pub const ROWS_PER_GROUP: usize = 65_536;

/// The Parquet type of each column (all optional: an absent value is a null).
fn parquet_type(column: &str) -> &'static str {
    match column {
        "score_scaled" | "score_raw" | "duration_seconds" => "DOUBLE",
        "success" | "completion" => "BOOLEAN",
        _ => "BYTE_ARRAY",
    }
}

fn message_type(columns: &[&str]) -> String {
    let mut message = String::from("message lrs_extract {\n");
    for column in columns {
        let kind = parquet_type(column);
        let annotation = if kind == "BYTE_ARRAY" { " (UTF8)" } else { "" };
        message.push_str(&format!("  OPTIONAL {kind} {column}{annotation};\n"));
    }
    message.push('}');
    message
}

pub struct CsvSink {
    writer: csv::Writer<BufWriter<File>>,
    width: usize,
}

impl CsvSink {
    pub fn create(file: File, columns: &[&str]) -> Result<CsvSink, ExtractError> {
        let mut writer = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, file));
        writer.write_record(columns).map_err(csv_failed)?;
        Ok(CsvSink {
            writer,
            width: columns.len(),
        })
    }

    pub fn write(&mut self, row: &ExtractRow) -> Result<(), ExtractError> {
        let mut number = NumberText::default();
        for cell in row.cells().iter().take(self.width) {
            let field: &str = match cell {
                Cell::Text(v) => v.unwrap_or(""),
                Cell::Number(v) => v.map_or("", |n| number.format(n)),
                Cell::Flag(v) => match v {
                    Some(true) => "true",
                    Some(false) => "false",
                    None => "",
                },
            };
            self.writer.write_field(field).map_err(csv_failed)?;
        }
        self.writer
            .write_record(None::<&[u8]>)
            .map_err(csv_failed)?;
        Ok(())
    }

    pub fn finish(self) -> Result<(), ExtractError> {
        let inner = self
            .writer
            .into_inner()
            .map_err(|e| ExtractError::Output(format!("statements.csv: {}", e.error())))?;
        let file = inner
            .into_inner()
            .map_err(|e| ExtractError::Output(format!("statements.csv: {}", e.error())))?;
        file.sync_all()
            .map_err(|e| ExtractError::Output(format!("statements.csv: {e}")))
    }
}

fn csv_failed(e: csv::Error) -> ExtractError {
    ExtractError::Output(format!("statements.csv: {e}"))
}

/// Numbers as CSV text (the shortest text that reads back as the same `f64`).
#[derive(Default)]
struct NumberText(String);

impl NumberText {
    fn format(&mut self, n: f64) -> &str {
        use std::fmt::Write;
        self.0.clear();
        write!(self.0, "{n}").expect("writing to a String cannot fail");
        &self.0
    }
}

/// One column's buffered values and definition levels (1 = present, 0 = null).
enum Buffered {
    Text(Vec<ByteArray>, Vec<i16>),
    Number(Vec<f64>, Vec<i16>),
    Flag(Vec<bool>, Vec<i16>),
}

pub struct ParquetSink {
    writer: SerializedFileWriter<BufWriter<File>>,
    columns: Vec<Buffered>,
    rows: usize,
}

impl ParquetSink {
    pub fn create(file: File, columns: &[&str]) -> Result<ParquetSink, ExtractError> {
        let schema = parse_message_type(&message_type(columns)).map_err(parquet_failed)?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_size(ROWS_PER_GROUP)
            .set_created_by(format!("lrs {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = SerializedFileWriter::new(
            BufWriter::with_capacity(1 << 16, file),
            Arc::new(schema),
            Arc::new(properties),
        )
        .map_err(parquet_failed)?;
        let columns = columns
            .iter()
            .map(|c| match parquet_type(c) {
                "DOUBLE" => Buffered::Number(Vec::new(), Vec::new()),
                "BOOLEAN" => Buffered::Flag(Vec::new(), Vec::new()),
                _ => Buffered::Text(Vec::new(), Vec::new()),
            })
            .collect();
        Ok(ParquetSink {
            writer,
            columns,
            rows: 0,
        })
    }

    pub fn write(&mut self, row: &ExtractRow) -> Result<(), ExtractError> {
        for (buffer, cell) in self.columns.iter_mut().zip(row.cells()) {
            match (buffer, cell) {
                (Buffered::Text(values, defs), Cell::Text(v)) => {
                    defs.push(i16::from(v.is_some()));
                    if let Some(v) = v {
                        values.push(ByteArray::from(v.as_bytes().to_vec()));
                    }
                }
                (Buffered::Number(values, defs), Cell::Number(v)) => {
                    defs.push(i16::from(v.is_some()));
                    values.extend(v);
                }
                (Buffered::Flag(values, defs), Cell::Flag(v)) => {
                    defs.push(i16::from(v.is_some()));
                    values.extend(v);
                }
                _ => unreachable!("each column's buffer has its cell's type (parquet_type)"),
            }
        }
        self.rows += 1;
        if self.rows == ROWS_PER_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffered rows as one row group.
    fn flush(&mut self) -> Result<(), ExtractError> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.writer.next_row_group().map_err(parquet_failed)?;
        for buffer in &mut self.columns {
            let mut column = group
                .next_column()
                .map_err(parquet_failed)?
                .expect("the schema has a column per buffer");
            match buffer {
                Buffered::Text(values, defs) => {
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(values, Some(defs), None)
                        .map_err(parquet_failed)?;
                    values.clear();
                    defs.clear();
                }
                Buffered::Number(values, defs) => {
                    column
                        .typed::<DoubleType>()
                        .write_batch(values, Some(defs), None)
                        .map_err(parquet_failed)?;
                    values.clear();
                    defs.clear();
                }
                Buffered::Flag(values, defs) => {
                    column
                        .typed::<BoolType>()
                        .write_batch(values, Some(defs), None)
                        .map_err(parquet_failed)?;
                    values.clear();
                    defs.clear();
                }
            }
            column.close().map_err(parquet_failed)?;
        }
        group.close().map_err(parquet_failed)?;
        self.rows = 0;
        Ok(())
    }

    pub fn finish(mut self) -> Result<(), ExtractError> {
        self.flush()?;
        let inner = self.writer.into_inner().map_err(parquet_failed)?;
        let file = inner
            .into_inner()
            .map_err(|e| ExtractError::Output(format!("statements.parquet: {}", e.error())))?;
        file.sync_all()
            .map_err(|e| ExtractError::Output(format!("statements.parquet: {e}")))
    }
}

fn parquet_failed(e: parquet::errors::ParquetError) -> ExtractError {
    ExtractError::Output(format!("statements.parquet: {e}"))
}
