//! The columns of an extract's rows. Free text never appears except `response`, and only when
//! the request includes it; names, unknown extensions and ids of people are never columns.

/// Every column, in file order (`response` only when included).
pub const COLUMNS: [&str; 17] = [
    "learner",
    "school",
    "class",
    "grade",
    "time",
    "verb",
    "activity",
    "activity_type",
    "subject",
    "curriculum_code",
    "tool",
    "score_scaled",
    "score_raw",
    "success",
    "completion",
    "duration_seconds",
    "response",
];

/// One statement, flattened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtractRow {
    /// The learner's pseudonym (64 hex digits).
    pub learner: String,
    /// The schools, classes and grade of the learner on the statement's local day; several are
    /// joined with `;` in `sourcedId` order. `None`: not enrolled that day (or not in the roster).
    pub school: Option<String>,
    pub class: Option<String>,
    pub grade: Option<String>,
    /// The local time, coarsened to the request's grain.
    pub time: String,
    pub verb: Option<String>,
    pub activity: Option<String>,
    pub activity_type: Option<String>,
    pub subject: Option<String>,
    pub curriculum_code: Option<String>,
    pub tool: Option<String>,
    pub score_scaled: Option<f64>,
    pub score_raw: Option<f64>,
    pub success: Option<bool>,
    pub completion: Option<bool>,
    pub duration_seconds: Option<f64>,
    /// `result.response`, only when the request includes it.
    pub response: Option<String>,
}

/// A cell's value, for the writers.
pub enum Cell<'a> {
    Text(Option<&'a str>),
    Number(Option<f64>),
    Flag(Option<bool>),
}

impl ExtractRow {
    /// The cells in [`COLUMNS`] order (all of them; writers skip `response` when not included).
    pub fn cells(&self) -> [Cell<'_>; 17] {
        fn text(v: &Option<String>) -> Cell<'_> {
            Cell::Text(v.as_deref())
        }
        [
            Cell::Text(Some(&self.learner)),
            text(&self.school),
            text(&self.class),
            text(&self.grade),
            Cell::Text(Some(&self.time)),
            text(&self.verb),
            text(&self.activity),
            text(&self.activity_type),
            text(&self.subject),
            text(&self.curriculum_code),
            text(&self.tool),
            Cell::Number(self.score_scaled),
            Cell::Number(self.score_raw),
            Cell::Flag(self.success),
            Cell::Flag(self.completion),
            Cell::Number(self.duration_seconds),
            text(&self.response),
        ]
    }
}
