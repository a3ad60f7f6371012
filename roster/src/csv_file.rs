//! Reading one CSV file of the zip: the header, then typed values by column, every error naming
//! the file, the line and the column.
//!
//! Values are trimmed of surrounding whitespace; an empty value is an absent one. A UTF-8 BOM
//! before the header is skipped. Columns are found by their header name, so their order does not
//! matter and unknown columns (`metadata.*` and others) are ignored.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read};

use csv::StringRecord;

use crate::day::Day;
use crate::error::{RosterError, RosterErrorKind};
use crate::values::{Grade, SourcedId, UtcTime};

/// How much decompressed data an import may still read; shared by its files.
pub(crate) struct Budget {
    remaining: Cell<u64>,
}

impl Budget {
    pub(crate) fn new(bytes: u64) -> Budget {
        Budget {
            remaining: Cell::new(bytes),
        }
    }
}

/// The marker inside the `io::Error` a [`Budgeted`] reader returns once the budget is spent.
#[derive(Debug)]
struct BudgetExceeded;

impl std::fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the roster exceeds its size limit")
    }
}

impl std::error::Error for BudgetExceeded {}

/// A reader that fails (rather than stopping short) when the shared budget runs out, so a
/// truncated file is never mistaken for a whole one.
pub(crate) struct Budgeted<'b, R> {
    inner: R,
    budget: &'b Budget,
}

impl<'b, R: Read> Budgeted<'b, R> {
    pub(crate) fn new(inner: R, budget: &'b Budget) -> Self {
        Budgeted { inner, budget }
    }
}

impl<R: Read> Read for Budgeted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let remaining = self.budget.remaining.get();
        // Ask for at most one byte more than allowed: enough to notice the excess.
        let want = buf
            .len()
            .min(usize::try_from(remaining.saturating_add(1)).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..want])?;
        if read as u64 > remaining {
            return Err(io::Error::other(BudgetExceeded));
        }
        self.budget.remaining.set(remaining - read as u64);
        Ok(read)
    }
}

/// Whether a column must be in the header.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    Required,
    Optional,
}

/// A column of the header, found by name (absent when optional and missing).
#[derive(Clone, Copy)]
pub(crate) struct Column {
    name: &'static str,
    index: Option<usize>,
}

/// An open CSV file positioned after its header.
pub(crate) struct CsvFile<R: Read> {
    file: &'static str,
    reader: csv::Reader<BufReader<R>>,
    header: StringRecord,
    record: StringRecord,
}

impl<R: Read> CsvFile<R> {
    pub(crate) fn open(file: &'static str, input: R) -> Result<CsvFile<R>, RosterError> {
        let mut input = BufReader::with_capacity(64 * 1024, input);
        skip_bom(&mut input).map_err(|error| io_error(file, &error))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(input);
        let mut header = StringRecord::new();
        let found = reader
            .read_record(&mut header)
            .map_err(|error| csv_error(file, error))?;
        if !found || header.iter().all(str::is_empty) {
            return Err(RosterError::new(
                RosterErrorKind::InvalidCsv,
                file,
                "the file has no header row",
            )
            .at(1, None));
        }
        Ok(CsvFile {
            file,
            reader,
            header,
            record: StringRecord::new(),
        })
    }

    /// The column named `name`; a [`Need::Required`] one must be in the header.
    pub(crate) fn column(&self, name: &'static str, need: Need) -> Result<Column, RosterError> {
        let index = self.header.iter().position(|h| h == name);
        if index.is_none() && need == Need::Required {
            return Err(RosterError::new(
                RosterErrorKind::MissingColumn,
                self.file,
                format!("the header has no {name} column"),
            )
            .at(1, Some(name)));
        }
        Ok(Column { name, index })
    }

    /// The next data row, or `None` at the end of the file.
    pub(crate) fn next_line(&mut self) -> Result<Option<Line<'_>>, RosterError> {
        loop {
            let found = self
                .reader
                .read_record(&mut self.record)
                .map_err(|error| csv_error(self.file, error))?;
            if !found {
                return Ok(None);
            }
            let line = self.record.position().map_or(0, |p| p.line());
            if self.record.len() != self.header.len() {
                // A blank line between rows is not a record.
                if self.record.len() == 1 && self.record[0].is_empty() {
                    continue;
                }
                return Err(RosterError::new(
                    RosterErrorKind::InvalidCsv,
                    self.file,
                    format!(
                        "the row has {} values, the header {}",
                        self.record.len(),
                        self.header.len()
                    ),
                )
                .at(line, None));
            }
            return Ok(Some(Line {
                file: self.file,
                line,
                record: &self.record,
            }));
        }
    }
}

fn skip_bom<R: Read>(input: &mut BufReader<R>) -> io::Result<()> {
    // The BOM's three bytes could straddle reads only for a reader returning one or two bytes at
    // a time; zip entries and slices do not.
    let head = input.fill_buf()?;
    if head.starts_with(b"\xEF\xBB\xBF") {
        input.consume(3);
    }
    Ok(())
}

fn io_error(file: &str, error: &io::Error) -> RosterError {
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<BudgetExceeded>())
    {
        RosterError::new(
            RosterErrorKind::TooLarge,
            file,
            "the decompressed roster exceeds the size limit",
        )
    } else {
        RosterError::new(
            RosterErrorKind::NotAZip,
            file,
            format!("the file cannot be read from the zip: {error}"),
        )
    }
}

fn csv_error(file: &str, error: csv::Error) -> RosterError {
    let line = error.position().map(|p| p.line());
    let message = error.to_string();
    let error = match error.into_kind() {
        csv::ErrorKind::Io(io) => return io_error(file, &io),
        csv::ErrorKind::Utf8 { err, .. } => RosterError::new(
            RosterErrorKind::InvalidCsv,
            file,
            format!("value {} is not valid UTF-8", err.field() + 1),
        ),
        _ => RosterError::new(
            RosterErrorKind::InvalidCsv,
            file,
            format!("not CSV: {message}"),
        ),
    };
    match line {
        Some(line) => error.at(line, None),
        None => error,
    }
}

/// One data row, read through its columns.
pub(crate) struct Line<'a> {
    file: &'static str,
    line: u64,
    record: &'a StringRecord,
}

impl<'a> Line<'a> {
    pub(crate) fn number(&self) -> u64 {
        self.line
    }

    pub(crate) fn error(
        &self,
        kind: RosterErrorKind,
        column: Column,
        message: impl Into<String>,
    ) -> RosterError {
        RosterError::new(kind, self.file, message).at(self.line, Some(column.name))
    }

    /// The value, or `None` when the column is absent or the value empty.
    pub(crate) fn value(&self, column: Column) -> Option<&'a str> {
        let value = self.record.get(column.index?)?;
        (!value.is_empty()).then_some(value)
    }

    pub(crate) fn required(&self, column: Column) -> Result<&'a str, RosterError> {
        self.value(column).ok_or_else(|| {
            self.error(
                RosterErrorKind::MissingValue,
                column,
                format!("{} is required", column.name),
            )
        })
    }

    pub(crate) fn text(&self, column: Column) -> Option<String> {
        self.value(column).map(str::to_owned)
    }

    pub(crate) fn sourced_id(&self, column: Column) -> Result<SourcedId, RosterError> {
        let value = self.required(column)?;
        self.parse_id(column, value)
    }

    pub(crate) fn optional_sourced_id(
        &self,
        column: Column,
    ) -> Result<Option<SourcedId>, RosterError> {
        self.value(column)
            .map(|value| self.parse_id(column, value))
            .transpose()
    }

    /// A comma-separated list of ids (`termSourcedIds`).
    pub(crate) fn sourced_ids(&self, column: Column) -> Result<Vec<SourcedId>, RosterError> {
        self.list(column)
            .map(|value| self.parse_id(column, value))
            .collect()
    }

    fn parse_id(&self, column: Column, value: &str) -> Result<SourcedId, RosterError> {
        SourcedId::parse(value).ok_or_else(|| {
            self.error(
                RosterErrorKind::BadValue,
                column,
                format!("{value:?} is not a sourcedId (it has control characters)"),
            )
        })
    }

    fn list(&self, column: Column) -> impl Iterator<Item = &'a str> + use<'a> {
        self.value(column)
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|item| !item.is_empty())
    }

    pub(crate) fn grades(&self, column: Column) -> Result<Vec<Grade>, RosterError> {
        self.list(column)
            .map(|value| {
                Grade::parse(value).ok_or_else(|| {
                    self.error(
                        RosterErrorKind::BadValue,
                        column,
                        format!("{value:?} is not a grade code (P1–P6, J1–J3, H1–H3, …)"),
                    )
                })
            })
            .collect()
    }

    /// A `YYYY-MM-DD` date.
    pub(crate) fn date(&self, column: Column) -> Result<Option<Day>, RosterError> {
        self.value(column)
            .map(|value| {
                Day::parse(value).ok_or_else(|| {
                    self.error(
                        RosterErrorKind::BadDate,
                        column,
                        format!("{value:?} is not a date (YYYY-MM-DD)"),
                    )
                })
            })
            .transpose()
    }

    pub(crate) fn required_date(&self, column: Column) -> Result<Day, RosterError> {
        self.required(column)?;
        Ok(self.date(column)?.expect("checked present"))
    }

    /// An ISO 8601 date-time (`dateLastModified`).
    pub(crate) fn instant(&self, column: Column) -> Result<Option<UtcTime>, RosterError> {
        self.value(column)
            .map(|value| {
                UtcTime::parse(value).ok_or_else(|| {
                    self.error(
                        RosterErrorKind::BadDate,
                        column,
                        format!("{value:?} is not an ISO 8601 date-time"),
                    )
                })
            })
            .transpose()
    }

    /// A value of a vocabulary (`parse` recognises it, `values` lists it for the message).
    pub(crate) fn vocabulary<T>(
        &self,
        column: Column,
        parse: fn(&str) -> Option<T>,
        values: &[&str],
    ) -> Result<T, RosterError> {
        let value = self.required(column)?;
        parse(value).ok_or_else(|| {
            self.error(
                RosterErrorKind::BadValue,
                column,
                format!("{value:?} is not one of {}", values.join(", ")),
            )
        })
    }

    /// `true` or `false` (any case); `default` when empty.
    pub(crate) fn boolean(&self, column: Column, default: bool) -> Result<bool, RosterError> {
        match self.value(column) {
            None => Ok(default),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
            Some(value) => Err(self.error(
                RosterErrorKind::BadValue,
                column,
                format!("{value:?} is not true or false"),
            )),
        }
    }
}
