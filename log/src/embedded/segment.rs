//! One segment file: a run of frames whose first record has the segment's base offset.
//!
//! Segments live in `<dir>/<partition>/` and are named by their base offset, zero-padded to 20
//! digits so that names sort like offsets (`00000000000000001000.log`). Only the last segment of a
//! partition is written to; the others are immutable until retention deletes them whole.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use parking_lot::RwLock;

use super::frame::{FrameHeader, HEADER_LEN};
use crate::{LogError, LogErrorKind, Offset};

/// One sparse index entry is kept per this many bytes of frames, so that a reader starting at an
/// arbitrary offset scans at most this much (plus one frame) to find it.
const INDEX_INTERVAL_BYTES: u64 = 64 * 1024;

/// Bytes a reader fetches per read call.
const READ_CHUNK_BYTES: usize = 1024 * 1024;

/// Where a record starts inside its segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub offset: Offset,
    pub position: u64,
}

/// A segment file, shared by the writer (appends) and readers (positioned reads).
#[derive(Debug)]
pub(crate) struct Segment {
    base_offset: Offset,
    path: PathBuf,
    file: File,
    /// Sparse, ascending; always starts with `(base_offset, 0)`.
    index: RwLock<Vec<IndexEntry>>,
}

/// What recovery found in a segment.
pub(crate) struct RecoveredSegment {
    pub segment: Segment,
    pub record_count: u64,
    pub valid_len: u64,
}

pub(crate) fn segment_file_name(base_offset: Offset) -> String {
    format!("{base_offset:020}.log")
}

pub(crate) fn parse_segment_file_name(name: &str) -> Option<Offset> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn corrupt(path: &Path, position: u64, what: &str) -> LogError {
    LogError::new(
        LogErrorKind::Corrupt,
        format!("{}: {what} at byte {position}", path.display()),
    )
}

impl Segment {
    /// Creates a new, empty segment file (the caller makes its directory entry durable).
    pub fn create(partition_dir: &Path, base_offset: Offset) -> io::Result<Segment> {
        let path = partition_dir.join(segment_file_name(base_offset));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok(Segment::new(base_offset, path, file))
    }

    fn new(base_offset: Offset, path: PathBuf, file: File) -> Segment {
        Segment {
            base_offset,
            path,
            file,
            index: RwLock::new(vec![IndexEntry {
                offset: base_offset,
                position: 0,
            }]),
        }
    }

    pub fn base_offset(&self) -> Offset {
        self.base_offset
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// Notes where a record starts, if it is far enough from the last noted one.
    pub fn note_position(&self, offset: Offset, position: u64) {
        let mut index = self.index.write();
        let last = index.last().expect("the index starts with the base offset");
        if position >= last.position + INDEX_INTERVAL_BYTES {
            index.push(IndexEntry { offset, position });
        }
    }

    /// The nearest indexed record at or before `offset`.
    pub fn lookup(&self, offset: Offset) -> IndexEntry {
        let index = self.index.read();
        let at = index.partition_point(|entry| entry.offset <= offset);
        index[at.saturating_sub(1)]
    }

    /// Scans the segment, verifying every frame, and repairs a torn tail when `is_last`.
    ///
    /// A bad frame is a torn tail (truncated away) only if no intact frame follows it in the last
    /// segment; otherwise it is damage to acknowledged data and recovery refuses with `Corrupt`.
    pub fn recover(
        path: PathBuf,
        base_offset: Offset,
        is_last: bool,
    ) -> Result<RecoveredSegment, LogError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|err| LogError::io(&format!("opening {}", path.display()), err))?;
        let file_len = file
            .metadata()
            .map_err(|err| LogError::io("reading segment metadata", err))?
            .len();
        let segment = Segment::new(base_offset, path, file);
        let mut position = 0u64;
        let mut record_count = 0u64;
        let mut payload = Vec::new();
        while position < file_len {
            match segment.check_frame_at(position, file_len, &mut payload)? {
                Some(frame_len) => {
                    segment.note_position(base_offset + record_count, position);
                    record_count += 1;
                    position += frame_len;
                }
                None => {
                    segment.repair_tail(position, file_len, is_last)?;
                    break;
                }
            }
        }
        (&segment.file)
            .seek(SeekFrom::Start(position))
            .map_err(|err| LogError::io("seeking to the segment end", err))?;
        Ok(RecoveredSegment {
            segment,
            record_count,
            valid_len: position,
        })
    }

    /// The length of the intact frame at `position`, or `None` if there is none.
    fn check_frame_at(
        &self,
        position: u64,
        file_len: u64,
        payload: &mut Vec<u8>,
    ) -> Result<Option<u64>, LogError> {
        if file_len - position < HEADER_LEN as u64 {
            return Ok(None);
        }
        let mut header = [0u8; HEADER_LEN];
        self.read_exact_at(&mut header, position)?;
        let Some(header) = FrameHeader::parse(&header) else {
            return Ok(None);
        };
        let frame_len = header.frame_len() as u64;
        if frame_len > file_len - position {
            return Ok(None);
        }
        payload.resize(header.stored_len as usize, 0);
        self.read_exact_at(payload, position + HEADER_LEN as u64)?;
        Ok(header.matches(payload).then_some(frame_len))
    }

    fn repair_tail(&self, bad_position: u64, file_len: u64, is_last: bool) -> Result<(), LogError> {
        if !is_last {
            return Err(corrupt(
                &self.path,
                bad_position,
                "bad frame in a sealed segment",
            ));
        }
        let mut rest = vec![0u8; (file_len - bad_position) as usize];
        self.read_exact_at(&mut rest, bad_position)?;
        if let Some(good) = first_intact_frame(&rest[1..]) {
            return Err(corrupt(
                &self.path,
                bad_position,
                &format!(
                    "bad frame followed by an intact frame at byte {}",
                    bad_position + 1 + good as u64
                ),
            ));
        }
        tracing::warn!(
            segment = %self.path.display(),
            valid_len = bad_position,
            dropped_bytes = file_len - bad_position,
            "truncating the torn tail of the log"
        );
        self.file
            .set_len(bad_position)
            .and_then(|()| self.file.sync_data())
            .map_err(|err| LogError::io("truncating a torn tail", err))
    }

    pub fn read_exact_at(&self, buf: &mut [u8], position: u64) -> Result<(), LogError> {
        self.file.read_exact_at(buf, position).map_err(|err| {
            if err.kind() == io::ErrorKind::UnexpectedEof {
                corrupt(&self.path, position, "unexpected end of segment")
            } else {
                LogError::io(&format!("reading {}", self.path.display()), err)
            }
        })
    }

    /// Reads the records `offset..limit` (at most `max`) starting at byte `position`, which must be
    /// where `offset` starts, and returns the byte position after the last record read.
    ///
    /// The caller guarantees that the records below `limit` are durable, hence fully written.
    pub fn read_records(
        &self,
        mut position: u64,
        mut offset: Offset,
        limit: Offset,
        max: usize,
        out: &mut Vec<(Offset, Bytes)>,
    ) -> Result<u64, LogError> {
        let mut chunk = Vec::new();
        let start_len = out.len();
        while offset < limit && out.len() - start_len < max {
            chunk.resize(READ_CHUNK_BYTES, 0);
            let filled = self.read_up_to(&mut chunk, position)?;
            chunk.truncate(filled);
            let mut at = 0usize;
            while offset < limit && out.len() - start_len < max {
                let rest = &chunk[at..];
                let header = match FrameHeader::parse(rest) {
                    Some(header) => header,
                    None if rest.len() < HEADER_LEN && at > 0 => break,
                    None => {
                        return Err(corrupt(
                            &self.path,
                            position + at as u64,
                            "bad frame header",
                        ));
                    }
                };
                let frame_len = header.frame_len();
                if rest.len() < frame_len {
                    if at > 0 {
                        break;
                    }
                    // A frame larger than the chunk: read it whole.
                    let mut frame = vec![0u8; frame_len];
                    self.read_exact_at(&mut frame, position)?;
                    out.push((offset, header.decode(&frame[HEADER_LEN..])?));
                    offset += 1;
                    at = frame_len;
                    break;
                }
                out.push((offset, header.decode(&rest[HEADER_LEN..frame_len])?));
                offset += 1;
                at += frame_len;
            }
            position += at as u64;
        }
        Ok(position)
    }

    /// The byte position of record `offset`, found from the sparse index by skipping frames.
    pub fn position_of(&self, offset: Offset) -> Result<u64, LogError> {
        let entry = self.lookup(offset);
        let mut position = entry.position;
        let mut header = [0u8; HEADER_LEN];
        for _ in entry.offset..offset {
            self.read_exact_at(&mut header, position)?;
            let header = FrameHeader::parse(&header)
                .ok_or_else(|| corrupt(&self.path, position, "bad frame header"))?;
            position += header.frame_len() as u64;
        }
        Ok(position)
    }

    fn read_up_to(&self, buf: &mut [u8], position: u64) -> Result<usize, LogError> {
        let mut filled = 0;
        while filled < buf.len() {
            match self
                .file
                .read_at(&mut buf[filled..], position + filled as u64)
            {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    return Err(LogError::io(
                        &format!("reading {}", self.path.display()),
                        err,
                    ));
                }
            }
        }
        Ok(filled)
    }
}

/// Where the first intact frame in `bytes` starts, trying every byte position.
fn first_intact_frame(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len()).find(|&start| {
        let rest = &bytes[start..];
        FrameHeader::parse(rest).is_some_and(|header| {
            rest.len() >= header.frame_len()
                && header.matches(&rest[HEADER_LEN..header.frame_len()])
        })
    })
}

/// Makes a directory's entries (created, renamed or deleted files) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_sort_like_their_base_offsets() {
        assert_eq!(segment_file_name(1000), "00000000000000001000.log");
        assert_eq!(
            parse_segment_file_name("00000000000000001000.log"),
            Some(1000)
        );
        assert_eq!(parse_segment_file_name("1000.log"), None);
        assert_eq!(parse_segment_file_name("00000000000000001000.tmp"), None);
    }
}
