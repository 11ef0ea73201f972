//! The plain data that crosses the machine's boundary: inputs, actions,
//! evidence, discontinuities and the reasons behind each wake-up.

use core::time::Duration;

/// One thing that happened, to be fed to [`crate::Machine::handle`] with
/// the instant it happened at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// Traffic arrived from the peer. The driver decides what counts (for
    /// example only authenticated frames).
    Inbound,
    /// A reply to the probe with this sequence number arrived. It counts as
    /// inbound traffic; a number the machine never issued since the last
    /// reset is ignored.
    Reply {
        /// The sequence number of the probe it answers.
        seq: u64,
    },
    /// The peer probed us (a ping we must answer). It counts as inbound
    /// traffic, and the reply comes out of the same call.
    PeerProbe,
    /// Traffic was sent to the peer (measured for the send obligation).
    Sent,
    /// The timer the machine asked for fired, early, late or spuriously.
    Timer,
    /// The host resumed from sleep. `slept` is how long, if the driver knows.
    Resume {
        /// How long the host slept, if known.
        slept: Option<Duration>,
    },
    /// A new connection replaces the old one: all probe state is cleared.
    Reset,
}

/// Why a probe was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProbeReason {
    /// `idle` passed without inbound traffic.
    Idle,
    /// The previous reply window expired unanswered.
    Retry,
    /// The send obligation fell due.
    SendObligation,
    /// A clock discontinuity was seen while no probe was outstanding.
    Discontinuity,
    /// The host resumed from sleep (sent even with a probe outstanding,
    /// which may have been lost while the host slept).
    Resume,
}

/// A probe to send. The reply must carry `seq` back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Probe {
    /// Sequence number to put in the probe (a ping payload, say).
    pub seq: u64,
    /// Why it goes out now.
    pub reason: ProbeReason,
}

/// Why the peer was found to misbehave: it probed more often than the
/// configured minimum interval, too many times in a row while no other
/// traffic flowed. Durations are credited time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Abuse {
    /// Probes that came too soon since the last other traffic, the last
    /// one included.
    pub strikes: u16,
    /// The gap between the last two probes.
    pub gap: Duration,
    /// The configured minimum interval between the peer's probes.
    pub min_interval: Duration,
}

/// The round trip to the peer, estimated from probes and their replies in
/// credited time, in the manner of TCP (RFC 6298).
///
/// A reply is measured only when it answers the latest probe, that probe
/// opened or renewed the reply window, and no discontinuity came between
/// them: a reply to an older probe could answer either, and a jump, a stall
/// or a sleep says nothing about the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rtt {
    /// The shortest round trip measured since the last reset.
    pub min: Duration,
    /// The smoothed round trip: each measurement moves it an eighth of the
    /// way.
    pub smoothed: Duration,
    /// The smoothed mean deviation: each measurement moves it a quarter of
    /// the way to its distance from `smoothed`.
    pub variation: Duration,
}

/// Why the pending wake-up was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The idle deadline: a probe (or, in passive mode, the start of the
    /// allowed delay) is due then unless traffic arrives first.
    Idle,
    /// The send obligation falls due.
    SendObligation,
    /// The open reply window ends.
    WindowEnd,
    /// A bounded step while a deadline that can kill the peer is pending,
    /// so that one clock jump can only cost `max_step + tolerance`.
    Watch,
    /// A window would have expired on a late call: input that waited
    /// behind the late timer gets delivered first.
    Grace,
}

/// The single pending wake-up: call [`crate::Machine::handle`] with
/// [`Input::Timer`] at `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Wakeup<I> {
    /// When.
    pub at: I,
    /// Why this instant was chosen.
    pub reason: Reason,
}

/// What kind of clock discontinuity was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiscontinuityKind {
    /// An input arrived later than the pending wake-up plus the tolerance:
    /// the clock jumped forward or the process stalled.
    Late {
        /// How far past the pending wake-up the input arrived.
        by: Duration,
    },
    /// An input carried an instant earlier than the previous one.
    Backward {
        /// How far back.
        by: Duration,
    },
    /// The driver reported that the host resumed from sleep.
    Resume {
        /// How long it slept, if known.
        slept: Option<Duration>,
    },
    /// The clock that counts suspend ([`crate::Machine::handle_with_boot`])
    /// moved further than the driver's clock: the host slept and the
    /// driver's clock did not count it.
    Suspend {
        /// How much further the suspend-counting clock moved.
        slept: Duration,
    },
}

/// What a discontinuity most likely was.
///
/// A suspend-counting clock ([`crate::Machine::handle_with_boot`]) tells a
/// late input apart: after a process stall both clocks moved alike, after
/// a step of the driver's clock only that one moved, and after a host
/// suspend the suspend-counting clock moved further.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The host was suspended (measured, or reported by a resume hint).
    HostSuspend {
        /// How long, if known.
        slept: Option<Duration>,
    },
    /// The process did not run: both clocks moved on together, further
    /// than the wake-up asked for.
    ProcessStall,
    /// The driver's clock was stepped: it went backward, or it moved
    /// forward further than the suspend-counting clock did.
    ClockStep,
    /// A late input without a suspend-counting clock: a stall and a forward
    /// step look the same.
    Unknown,
}

/// A clock discontinuity, reported so the driver can log it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Discontinuity {
    /// What was seen.
    pub kind: DiscontinuityKind,
    /// The step the clock showed since the previous input (zero when it
    /// went backward).
    pub observed: Duration,
    /// The part of that step the machine credited (with a measured host
    /// suspend, the suspend counts as part of the step).
    pub credited: Duration,
    /// What the discontinuity most likely was.
    pub cause: Cause,
}

/// Why the peer was declared dead. Durations are credited time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Evidence {
    /// Probes sent since the last inbound traffic (zero in passive mode).
    pub probes_sent: u32,
    /// Consecutive reply windows that expired unanswered.
    pub windows_missed: u32,
    /// The shortest time any of those windows waited.
    pub shortest_window: Duration,
    /// The longest time any of those windows waited.
    pub longest_window: Duration,
    /// Credited time since the last inbound traffic.
    pub silence: Duration,
    /// Clock discontinuities seen since the last inbound traffic.
    pub discontinuities: u32,
}

/// One thing the driver must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action<I> {
    /// Send a probe now; its reply window has already started.
    SendProbe(Probe),
    /// Passive mode with a send obligation: send a heartbeat now (no reply
    /// is expected).
    SendHeartbeat,
    /// (Re-)arm the single timer. Replaces any earlier wake-up.
    ArmTimer(Wakeup<I>),
    /// Answer the probe the peer just sent (echo what it carried: a Pong
    /// for a Ping). Already counted as a send for the send obligation, so
    /// do not report it with `on_sent`.
    SendReply,
    /// The peer is dead. The machine does nothing more until a reset.
    Dead(Evidence),
    /// The peer probes too often while no other traffic flows (the abuse
    /// policy of [`crate::ConfigBuilder::peer_probe_limit`]). Close the
    /// connection the way the protocol says (HTTP/2: GOAWAY with
    /// `ENHANCE_YOUR_CALM` and "too_many_pings"). The machine does nothing
    /// more until a reset.
    Misbehaving(Abuse),
    /// A clock discontinuity was seen; informational.
    Discontinuity(Discontinuity),
}

/// Everything one input produced, in the order to act on it:
/// discontinuity, then probe, heartbeat, reply or verdict, then the timer.
///
/// At most three actions: one discontinuity, one of probe / heartbeat /
/// reply / verdict, one timer change. Iterate it, or read the slots directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use = "actions tell the driver to send probes, re-arm the timer or \
              drop a dead peer"]
pub struct Actions<I> {
    /// The discontinuity seen on this input, if any.
    pub discontinuity: Option<Discontinuity>,
    /// A probe, heartbeat, reply or verdict, if any.
    pub output: Option<Action<I>>,
    /// The new wake-up, if it changed. `None` means the timer stays as it
    /// was (or, after a verdict, that no timer is needed).
    pub timer: Option<Wakeup<I>>,
}

impl<I> Actions<I> {
    /// No actions.
    pub const fn none() -> Self {
        Actions {
            discontinuity: None,
            output: None,
            timer: None,
        }
    }

    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.discontinuity.is_none() && self.output.is_none() && self.timer.is_none()
    }

    /// The probe to send, if any.
    pub fn probe(&self) -> Option<Probe> {
        match self.output {
            Some(Action::SendProbe(probe)) => Some(probe),
            _ => None,
        }
    }

    /// The verdict, if the peer was declared dead.
    pub fn dead(&self) -> Option<Evidence> {
        match self.output {
            Some(Action::Dead(evidence)) => Some(evidence),
            _ => None,
        }
    }

    /// The abuse verdict, if the peer was found to misbehave.
    pub fn misbehaving(&self) -> Option<Abuse> {
        match self.output {
            Some(Action::Misbehaving(abuse)) => Some(abuse),
            _ => None,
        }
    }

    /// True when the peer's probe is to be answered now.
    pub fn reply(&self) -> bool {
        matches!(self.output, Some(Action::SendReply))
    }
}

impl<I> Default for Actions<I> {
    fn default() -> Self {
        Actions::none()
    }
}

impl<I: Copy> IntoIterator for Actions<I> {
    type Item = Action<I>;
    type IntoIter = ActionsIter<I>;

    fn into_iter(self) -> ActionsIter<I> {
        ActionsIter {
            actions: self,
            next: 0,
        }
    }
}

/// Iterator over [`Actions`], in the order to act on them.
#[derive(Clone, Debug)]
pub struct ActionsIter<I> {
    actions: Actions<I>,
    next: u8,
}

impl<I: Copy> Iterator for ActionsIter<I> {
    type Item = Action<I>;

    fn next(&mut self) -> Option<Action<I>> {
        while self.next < 3 {
            let slot = self.next;
            self.next += 1;
            let action = match slot {
                0 => self.actions.discontinuity.map(Action::Discontinuity),
                1 => self.actions.output,
                _ => self.actions.timer.map(Action::ArmTimer),
            };
            if action.is_some() {
                return action;
            }
        }
        None
    }
}
