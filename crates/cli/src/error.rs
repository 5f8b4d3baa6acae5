//! The one error type of the command line: every failure ends as one clear sentence on stderr
//! and a non-zero exit code, never a panic or a backtrace.

use moralbank_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration (file, environment, flags or key file) is missing or wrong.
    #[error("{0}")]
    Config(String),
    /// The command was called in a way that cannot work (missing password, wrong flag).
    #[error("{0}")]
    Usage(String),
    #[error("{}", describe_store(.0))]
    Store(#[from] StoreError),
    /// A check found something wrong (a receipt that does not verify, an audit that fails).
    #[error("{0}")]
    Check(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl CliError {
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let context = context.into();
        move |source| CliError::Io { context, source }
    }
}

/// Field errors name each field; the store's own `Display` only counts them.
fn describe_store(e: &StoreError) -> String {
    match e {
        StoreError::Invalid(errors) => errors
            .0
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;
