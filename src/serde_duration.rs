//! Human-readable durations for serde: `"30s"`, `"1m 30s"`, `"500ms"`,
//! `"1.5s"`, or a plain number of seconds. Only with the `serde` feature.
//!
//! Use the module on a `Duration` field, [`option`] on an
//! `Option<Duration>` field, and [`HumanDuration`] wherever a type is
//! needed instead of a field attribute (a list of durations, a map value):
//!
//! ```
//! use std::time::Duration;
//! use keepalive::serde_duration::HumanDuration;
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Retry {
//!     #[serde(with = "keepalive::serde_duration")]
//!     backoff: Duration,
//!     #[serde(default, with = "keepalive::serde_duration::option")]
//!     give_up_after: Option<Duration>,
//!     #[serde(default)]
//!     pauses: Vec<HumanDuration>,
//! }
//!
//! let retry: Retry = toml::from_str(
//!     r#"
//!     backoff = "1.5s"
//!     give_up_after = 600
//!     pauses = ["1m 30s", 0.25]
//!     "#,
//! )
//! .expect("every form is a duration");
//!
//! assert_eq!(retry.backoff, Duration::from_millis(1500));
//! assert_eq!(retry.give_up_after, Some(Duration::from_secs(600)));
//! assert_eq!(retry.pauses[0].0, Duration::from_secs(90));
//! assert_eq!(retry.pauses[1].0, Duration::from_millis(250));
//! assert_eq!(
//!     toml::to_string(&retry).expect("a duration is a string"),
//!     "backoff = \"1s 500ms\"\ngive_up_after = \"10m\"\n\
//!      pauses = [\"1m 30s\", \"250ms\"]\n",
//! );
//! ```
//!
//! # What is accepted
//!
//! * **A string** that the `humantime` crate parses: numbers with units,
//!   with or without spaces between them (`"1h 30m"`, `"1h30m"`). A number
//!   may have a decimal part (`"1.5s"`, `"0.25h"`) as long as the result
//!   is a whole number of nanoseconds. Units: `ns`, `us`, `ms`, `s`
//!   (`sec`, `second`, `seconds`), `m` (`min`, `minutes`), `h` (`hr`,
//!   `hours`), `d` (`days`), `w` (`weeks`), `M` (`months`, 30.44 days), `y`
//!   (`years`, 365.25 days). A plain `"0"` is zero; any other number in a
//!   string needs a unit, so `"90"` is refused (write `90` or `"90s"`).
//!   No sign: `"-5s"` is refused.
//! * **A number of seconds**, integer or not (`30`, `0.005`). Negative,
//!   NaN and infinite numbers are refused, and so are numbers beyond what a
//!   `Duration` holds.
//!
//! A duration is written as a `humantime` string (`"1m 30s"`, `"1s
//! 500ms"`), which reads back to the same duration to the nanosecond.
//! Reading needs a self-describing format (TOML, JSON, YAML, ...), since a
//! value may be a string or a number.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Writes `duration` as a human-readable string (`"1m 30s"`).
///
/// For `#[serde(with = "keepalive::serde_duration")]`.
pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_duration(*duration))
}

/// Reads a duration string (`"30s"`) or a number of seconds.
///
/// For `#[serde(with = "keepalive::serde_duration")]`.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    Given::deserialize(deserializer)?
        .duration()
        .map_err(de::Error::custom)
}

/// The same for an `Option<Duration>` field: `None` is written as nothing
/// (with `skip_serializing_if = "Option::is_none"`) or as the format's
/// null, and a missing field reads as `None` with `#[serde(default)]`.
pub mod option {
    use super::*;

    /// Writes `Some` as a duration string and `None` as the format's null.
    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        duration.map(HumanDuration).serialize(serializer)
    }

    /// Reads a duration string or a number of seconds; null is `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        let duration = Option::<HumanDuration>::deserialize(deserializer)?;
        Ok(duration.map(|d| d.0))
    }
}

/// A `Duration` that serde reads and writes in human-readable form, for
/// places where a field attribute cannot reach (a `Vec`, a map value).
///
/// It also parses from a string with [`str::parse`] and displays as the
/// string it is written as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl From<Duration> for HumanDuration {
    fn from(duration: Duration) -> Self {
        HumanDuration(duration)
    }
}

impl From<HumanDuration> for Duration {
    fn from(duration: HumanDuration) -> Self {
        duration.0
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        humantime::format_duration(self.0).fmt(f)
    }
}

impl FromStr for HumanDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, DurationError> {
        parse(text).map(HumanDuration)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize(deserializer).map(HumanDuration)
    }
}

/// Why a value is not a duration. Its `Display` shows the value and the
/// forms that are accepted.
#[derive(Clone, Debug, PartialEq)]
pub struct DurationError {
    problem: Problem,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            Problem::Text { text, error } => write!(f, "{text:?} is not a duration ({error})"),
            Problem::Negative(number) => write!(f, "{number} is negative"),
            Problem::NotFinite(number) => write!(f, "{number} is not a number of seconds"),
            Problem::Huge(number) => {
                write!(f, "{number} seconds is longer than any duration")
            }
            Problem::Kind(kind) => write!(f, "{kind} is not a duration"),
        }?;
        f.write_str(FORMS)
    }
}

impl std::error::Error for DurationError {}

/// The end of every duration error: what to write instead.
const FORMS: &str = ": write a duration such as \"30s\", \"1m 30s\", \
                     \"500ms\" or \"1.5s\", or a number of seconds from 0 up";

#[derive(Clone, Debug, PartialEq)]
enum Problem {
    Text {
        text: String,
        error: humantime::DurationError,
    },
    Negative(String),
    NotFinite(String),
    Huge(String),
    /// Neither a number nor a string: `true`, for example.
    Kind(String),
}

impl DurationError {
    fn new(problem: Problem) -> Self {
        DurationError { problem }
    }
}

/// Parses a duration string (`"1m 30s"`, `"1.5s"`).
///
/// Each number-and-unit part is parsed by `humantime` on its own and the
/// parts are summed here with an overflow check: `humantime` 2.4 sums them
/// itself with a check that misses one carry, and panics on a string such
/// as `"18446744073709551615s 500ms 500ms"`. The result is otherwise the
/// same as `humantime::parse_duration`, errors included.
pub(crate) fn parse(text: &str) -> Result<Duration, DurationError> {
    parse_parts(text).map_err(|error| {
        DurationError::new(Problem::Text {
            text: text.into(),
            error,
        })
    })
}

fn parse_parts(text: &str) -> Result<Duration, humantime::DurationError> {
    use humantime::DurationError as Error;

    // One part cannot overflow the sum; a plain call also keeps the lone
    // "0" that humantime allows without a unit.
    if parts(text).nth(1).is_none() {
        return humantime::parse_duration(text);
    }

    let mut total = Duration::ZERO;
    for (start, part) in parts(text) {
        let shift = |error| match error {
            Error::InvalidCharacter(at) => Error::InvalidCharacter(at + start),
            Error::NumberExpected(at) => Error::NumberExpected(at + start),
            Error::UnknownUnit {
                start: from,
                end,
                unit,
                value,
            } => Error::UnknownUnit {
                start: from + start,
                end: end + start,
                unit,
                value,
            },
            other => other,
        };
        // A trailing "0" is a number without a unit here, as it is to
        // humantime inside a longer string.
        if part == "0" {
            return Err(Error::UnknownUnit {
                start: start + 1,
                end: start + 1,
                unit: String::new(),
                value: 0,
            });
        }
        let duration = humantime::parse_duration(part).map_err(shift)?;
        total = total.checked_add(duration).ok_or(Error::NumberOverflow)?;
    }
    Ok(total)
}

/// The number-and-unit parts of `text` with their byte offsets: a new part
/// begins at each digit whose last non-blank character before it is a
/// letter (the end of a unit), which is where humantime starts a new part
/// too.
fn parts(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut starts = vec![0];
    let mut after_unit = false;
    for (at, c) in text.char_indices() {
        if c.is_ascii_digit() && after_unit {
            starts.push(at);
        }
        if !c.is_whitespace() {
            after_unit = c.is_alphabetic();
        }
    }
    let ends: Vec<usize> = starts.iter().skip(1).copied().chain([text.len()]).collect();
    starts
        .into_iter()
        .zip(ends)
        .map(move |(start, end)| (start, &text[start..end]))
}

/// A value as a file gave it: a number, a string or something else, not yet
/// turned into what its field needs. Config files hold each field's value
/// in one so that an error can name the field (serde's derive does not pass
/// field names to a field's own `Deserialize`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Given {
    /// A non-negative integer.
    Unsigned(u64),
    /// A negative integer.
    Negative(i64),
    Float(f64),
    Text(String),
    /// Anything else, described for the error: `true`, `a list`.
    Other(String),
    /// Only ever serialized: a duration to write as a string.
    Duration(Duration),
}

impl Given {
    /// The value as a duration: a number of seconds or a duration string.
    pub(crate) fn duration(&self) -> Result<Duration, DurationError> {
        let problem = match self {
            Given::Unsigned(secs) => return Ok(Duration::from_secs(*secs)),
            Given::Duration(duration) => return Ok(*duration),
            Given::Text(text) => return parse(text),
            Given::Negative(number) => Problem::Negative(number.to_string()),
            // Debug, not Display: `1e300` rather than 301 digits.
            Given::Float(number) if number.is_nan() || number.is_infinite() => {
                Problem::NotFinite(format!("{number:?}"))
            }
            Given::Float(number) if number.is_sign_negative() && *number != 0.0 => {
                Problem::Negative(format!("{number:?}"))
            }
            Given::Float(number) => match Duration::try_from_secs_f64(number.abs()) {
                Ok(duration) => return Ok(duration),
                Err(_) => Problem::Huge(format!("{number:?}")),
            },
            Given::Other(kind) => Problem::Kind(kind.clone()),
        };
        Err(DurationError::new(problem))
    }
}

impl fmt::Display for Given {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Given::Unsigned(number) => number.fmt(f),
            Given::Negative(number) => number.fmt(f),
            Given::Float(number) => write!(f, "{number:?}"),
            Given::Text(text) => write!(f, "{text:?}"),
            Given::Other(kind) => f.write_str(kind),
            Given::Duration(duration) => {
                write!(f, "\"{}\"", humantime::format_duration(*duration))
            }
        }
    }
}

impl Serialize for Given {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Given::Unsigned(number) => serializer.serialize_u64(*number),
            Given::Negative(number) => serializer.serialize_i64(*number),
            Given::Float(number) => serializer.serialize_f64(*number),
            Given::Text(text) | Given::Other(text) => serializer.serialize_str(text),
            Given::Duration(duration) => serialize(duration, serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Given {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(GivenVisitor)
    }
}

struct GivenVisitor;

impl<'de> Visitor<'de> for GivenVisitor {
    type Value = Given;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"30s\" or a number")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Given, E> {
        Ok(Given::Other(value.to_string()))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Given, E> {
        Ok(match u64::try_from(value) {
            Ok(value) => Given::Unsigned(value),
            Err(_) => Given::Negative(value),
        })
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Given, E> {
        Ok(Given::Unsigned(value))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Given, E> {
        Ok(match (u64::try_from(value), i64::try_from(value)) {
            (Ok(value), _) => Given::Unsigned(value),
            (_, Ok(value)) => Given::Negative(value),
            // Beyond any duration either way; the float says so.
            _ => Given::Float(value as f64),
        })
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Given, E> {
        Ok(match u64::try_from(value) {
            Ok(value) => Given::Unsigned(value),
            Err(_) => Given::Float(value as f64),
        })
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Given, E> {
        Ok(Given::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Given, E> {
        Ok(Given::Text(value.into()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Given, E> {
        Ok(Given::Other("null".into()))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Given, A::Error> {
        // Read to the end, so that the format can go on to the next field
        // and the error can still name this one.
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Given::Other("a list".into()))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Given, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Given::Other("a table".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_split_where_a_unit_ends_and_a_number_begins() {
        let split: Vec<_> = parts("1h30m 5s 0.5ms").collect();

        assert_eq!(split, [(0, "1h"), (2, "30m "), (6, "5s "), (9, "0.5ms")]);
    }
}
