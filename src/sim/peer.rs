//! The simulated peer (the master of S0): it answers probes after a
//! latency, may send heartbeats, and dies once in a while.

use std::time::Duration;

use super::rng::Rng;

/// How the peer behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerModel {
    /// Fastest reply, drawn uniformly up to `latency_max`. Heartbeats
    /// take the same time to arrive.
    pub latency_min: Duration,
    /// Slowest ordinary reply.
    pub latency_max: Duration,
    /// The chance that a reply is slow instead.
    pub slow_probability: f64,
    /// How long a slow reply takes.
    pub slow_latency: Duration,
    /// The peer sends a heartbeat this often (for passive mode), counted
    /// from each connection.
    pub heartbeat_every: Option<Duration>,
    /// Real times at which the peer dies.
    pub deaths: Vec<Duration>,
    /// Random deaths as well: a Poisson process with this mean gap.
    pub mean_life: Option<Duration>,
}

impl PeerModel {
    /// The longest a reply or heartbeat can take to arrive.
    pub fn slowest(&self) -> Duration {
        if self.slow_probability > 0.0 {
            self.latency_max.max(self.slow_latency)
        } else {
            self.latency_max
        }
    }
}

/// The peer of one run.
///
/// A peer that dies stays dead: it answers nothing and sends nothing. When
/// the worker reconnects after the death it finds a restarted peer, which
/// dies at the next death time. A worker that dropped a live peer
/// reconnects to the same one.
#[derive(Clone, Debug)]
pub(crate) struct Peer {
    model: PeerModel,
    rng: Rng,
    /// Every death time, sorted.
    deaths: Vec<Duration>,
    /// When the current peer dies; `Duration::MAX` for never.
    death: Duration,
}

impl Peer {
    pub(crate) fn new(model: &PeerModel, seed: u64, until: Duration) -> Self {
        let mut deaths = model.deaths.clone();
        if let Some(mean) = model.mean_life {
            let mut rng = Rng::stream(seed, 2);
            let mut at = rng.arrival_after(Duration::ZERO, mean);
            while at < until {
                deaths.push(at);
                at = rng.arrival_after(at, mean);
            }
        }
        deaths.sort();
        Peer {
            model: model.clone(),
            rng: Rng::stream(seed, 3),
            deaths,
            death: Duration::ZERO,
        }
    }

    pub(crate) fn model(&self) -> &PeerModel {
        &self.model
    }

    pub(crate) fn alive(&self, at: Duration) -> bool {
        at < self.death
    }

    /// When the current peer dies, if ever.
    pub(crate) fn death(&self) -> Option<Duration> {
        (self.death != Duration::MAX).then_some(self.death)
    }

    /// The worker connects at `at`. Returns true when a new peer (the
    /// first one, or a restart after a death) answers.
    pub(crate) fn connect(&mut self, at: Duration) -> bool {
        if self.alive(at) {
            return false;
        }
        let next = self.deaths.partition_point(|&death| death <= at);
        self.death = self.deaths.get(next).copied().unwrap_or(Duration::MAX);
        true
    }

    /// How long the next reply or heartbeat takes. Always draws twice, so
    /// that every strategy sees the same latencies in the same order.
    pub(crate) fn latency(&mut self) -> Duration {
        let slow = self.rng.chance(self.model.slow_probability);
        let latency = self
            .rng
            .between(self.model.latency_min, self.model.latency_max);
        if slow {
            self.model.slow_latency
        } else {
            latency
        }
    }
}
