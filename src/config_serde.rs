//! `Config` in config files, with the `serde` feature: a mirror of the
//! builder with every field optional, read through [`ConfigBuilder::build`]
//! so that a file is refused for the same reasons and with the same
//! messages as code.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::serde_duration::Given;
use crate::{
    Config, ConfigBuilder, ConfigError, Jitter, Mode, DEFAULT_MAX_STEP_DIVISOR,
    DEFAULT_TOLERANCE_DIVISOR,
};

/// What a config file may hold: one field per builder option, named as
/// the option, each holding the value as the file gave it so that an error
/// can name the field.
///
/// A new builder option is a field here, a line in [`ConfigFile::builder`]
/// and a line in `From<Config>`.
#[derive(Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ConfigFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<Given>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idle: Option<Given>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_window: Option<Given>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_misses: Option<Given>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_step: Option<Given>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tolerance: Option<Given>,
    #[serde(skip_serializing_if = "Option::is_none")]
    send_every: Option<Given>,
    #[serde(skip_serializing_if = "Option::is_none")]
    adaptive_reply_window: Option<Given>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer_probe_limit: Option<PeerProbeLimitFile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jitter: Option<JitterFile>,
}

/// `peer_probe_limit = { min_interval = "5m", strikes = 2 }`.
#[derive(Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { min_interval = \"5m\", strikes = 2 }"
)]
struct PeerProbeLimitFile {
    min_interval: Given,
    strikes: Given,
}

/// `jitter = { shorten = 25 }` or `jitter = { spread = 20 }`, in per cent.
#[derive(Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { spread = 20 } or { shorten = 25 }"
)]
struct JitterFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shorten: Option<Given>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spread: Option<Given>,
}

impl ConfigFile {
    /// The builder holding the defaults, overridden by every field given.
    fn builder(&self) -> Result<ConfigBuilder, FileError> {
        use ConfigBuilder as B;

        let mut b = Config::builder();
        b = set(b, "mode", &self.mode, mode, set_mode)?;
        b = set(b, "idle", &self.idle, duration, B::idle)?;
        b = set(
            b,
            "reply_window",
            &self.reply_window,
            duration,
            B::reply_window,
        )?;
        b = set(b, "max_misses", &self.max_misses, count, B::max_misses)?;
        b = set(b, "max_step", &self.max_step, duration, B::max_step)?;
        b = set(b, "tolerance", &self.tolerance, duration, B::tolerance)?;
        b = set(b, "send_every", &self.send_every, duration, B::send_every)?;
        b = set(
            b,
            "adaptive_reply_window",
            &self.adaptive_reply_window,
            duration,
            B::adaptive_reply_window,
        )?;
        if let Some(limit) = &self.peer_probe_limit {
            let field = "peer_probe_limit.min_interval";
            let min_interval = duration(&limit.min_interval)
                .map_err(|problem| FileError::Value { field, problem })?;
            let field = "peer_probe_limit.strikes";
            let strikes = count(&limit.strikes)
                .and_then(|strikes| {
                    u16::try_from(strikes).map_err(|_| {
                        format!("{strikes} is above {}: write a smaller count", u16::MAX)
                    })
                })
                .map_err(|problem| FileError::Value { field, problem })?;
            b = b.peer_probe_limit(min_interval, strikes);
        }
        if let Some(jitter) = &self.jitter {
            b = b.jitter(jitter.jitter()?);
        }
        Ok(b)
    }
}

impl JitterFile {
    fn jitter(&self) -> Result<Jitter, FileError> {
        let percent = |given: &Given| match given {
            Given::Unsigned(number) => u8::try_from(*number).map_err(|_| {
                format!("{number} % is more than any jitter: write a percentage up to 90")
            }),
            _ => Err(format!(
                "{given} is not a percentage: write a whole number such as 20"
            )),
        };
        let value =
            |field, given| percent(given).map_err(|problem| FileError::Value { field, problem });
        match (&self.shorten, &self.spread) {
            (Some(given), None) => Ok(Jitter::Shorten {
                percent: value("jitter.shorten", given)?,
            }),
            (None, Some(given)) => Ok(Jitter::Spread {
                percent: value("jitter.spread", given)?,
            }),
            _ => Err(FileError::Value {
                field: "jitter",
                problem: "give exactly one of shorten or spread, a percentage: \
                          jitter = { spread = 20 }"
                    .into(),
            }),
        }
    }
}

/// A [`Jitter`] on its own, as a config file writes it: `{ spread = 20 }`
/// or `{ shorten = 25 }`, for files that hold one outside a `Config`.
impl<'de> Deserialize<'de> for Jitter {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        JitterFile::deserialize(deserializer)?
            .jitter()
            .map_err(serde::de::Error::custom)
    }
}

/// Applies `value`, read as its field needs, to the builder.
fn set<T>(
    builder: ConfigBuilder,
    field: &'static str,
    value: &Option<Given>,
    read: fn(&Given) -> Result<T, String>,
    apply: fn(ConfigBuilder, T) -> ConfigBuilder,
) -> Result<ConfigBuilder, FileError> {
    match value {
        None => Ok(builder),
        Some(given) => match read(given) {
            Ok(value) => Ok(apply(builder, value)),
            Err(problem) => Err(FileError::Value { field, problem }),
        },
    }
}

fn duration(given: &Given) -> Result<Duration, String> {
    given.duration().map_err(|error| error.to_string())
}

fn count(given: &Given) -> Result<u32, String> {
    match given {
        Given::Unsigned(number) => u32::try_from(*number)
            .map_err(|_| format!("{number} is above {}: write a smaller count", u32::MAX)),
        _ => Err(format!(
            "{given} is not a count: write a whole number such as 3"
        )),
    }
}

fn mode(given: &Given) -> Result<Mode, String> {
    match given {
        Given::Text(text) if text == "active" => Ok(Mode::Active),
        Given::Text(text) if text == "passive" => Ok(Mode::Passive),
        _ => Err(format!(
            "{given} is not a mode: write \"active\" or \"passive\""
        )),
    }
}

fn set_mode(builder: ConfigBuilder, mode: Mode) -> ConfigBuilder {
    match mode {
        Mode::Active => builder.active(),
        Mode::Passive => builder.passive(),
    }
}

impl From<Config> for ConfigFile {
    fn from(config: Config) -> Self {
        let window = config.reply_window();
        // Step and tolerance are left out when they are what the builder
        // derives from the shortest window, so that a file written from a
        // config says only what was chosen, and reads back to the same
        // config.
        let shortest = config.shortest_reply_window();
        let derived = |value: Duration, divisor| (value != shortest / divisor).then_some(value);
        let mode = match config.mode() {
            Mode::Active => "active",
            Mode::Passive => "passive",
        };

        ConfigFile {
            mode: Some(Given::Text(mode.into())),
            idle: Some(Given::Duration(config.idle())),
            reply_window: Some(Given::Duration(window)),
            max_misses: Some(Given::Unsigned(config.max_misses().into())),
            max_step: derived(config.max_step(), DEFAULT_MAX_STEP_DIVISOR).map(Given::Duration),
            tolerance: derived(config.tolerance(), DEFAULT_TOLERANCE_DIVISOR).map(Given::Duration),
            send_every: config.send_every().map(Given::Duration),
            adaptive_reply_window: config.adaptive_reply_window().map(Given::Duration),
            peer_probe_limit: config.peer_probe_limit().map(|(min_interval, strikes)| {
                PeerProbeLimitFile {
                    min_interval: Given::Duration(min_interval),
                    strikes: Given::Unsigned(strikes.into()),
                }
            }),
            jitter: match config.jitter() {
                Jitter::None => None,
                Jitter::Shorten { percent } => Some(JitterFile {
                    shorten: Some(Given::Unsigned(percent.into())),
                    spread: None,
                }),
                Jitter::Spread { percent } => Some(JitterFile {
                    shorten: None,
                    spread: Some(Given::Unsigned(percent.into())),
                }),
            },
        }
    }
}

impl TryFrom<ConfigFile> for Config {
    type Error = FileError;

    fn try_from(file: ConfigFile) -> Result<Config, FileError> {
        file.builder()?.build().map_err(FileError::Config)
    }
}

/// Why a config file was refused: a value its field cannot take, or a
/// config that cannot work (the builder's own error).
#[derive(Debug)]
pub(crate) enum FileError {
    Value {
        field: &'static str,
        problem: String,
    },
    Config(ConfigError),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Value { field, problem } => write!(f, "{field}: {problem}"),
            FileError::Config(error) => error.fmt(f),
        }
    }
}
