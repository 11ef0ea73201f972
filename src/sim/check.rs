//! A checker for the machine's well-formedness rules, shared by the
//! property tests, the fuzz targets and the corpus tests.
//!
//! After every input it checks what any caller may rely on whatever the
//! inputs were: the timer is never armed in the past, nothing comes out
//! after a verdict until a reset, at most one verdict per connection, a
//! live machine always has exactly one pending wake-up that the actions
//! announced, and the machine never asks to be woken at the same instant
//! over and over.

use core::fmt;
use core::time::Duration;

use crate::{Action, Actions, Input, Instant, Machine, Wakeup};

/// How many calls in a row may answer with a wake-up at the very instant
/// they were made. The grace turn needs one; anything beyond two is a
/// loop.
pub const MAX_ZERO_LENGTH_WAKEUPS: u32 = 2;

/// A broken well-formedness rule, with the call it was seen on (counted
/// from zero).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// A wake-up earlier than the instant of the input it answered.
    ArmedInThePast {
        /// The call.
        call: u64,
    },
    /// Actions came out of a machine that had declared the peer dead.
    ActionAfterVerdict {
        /// The call.
        call: u64,
    },
    /// A live machine without a pending wake-up, or a dead one with one.
    WakeupMismatch {
        /// The call.
        call: u64,
    },
    /// The pending wake-up changed without an `ArmTimer` action, or the
    /// action disagrees with `next_wakeup`.
    SilentRearm {
        /// The call.
        call: u64,
    },
    /// A verdict came with a timer, or a timer after the verdict.
    TimerWithVerdict {
        /// The call.
        call: u64,
    },
    /// Too many wake-ups in a row at the instant of the call.
    ZeroLengthLoop {
        /// The call.
        call: u64,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, call) = match self {
            Violation::ArmedInThePast { call } => {
                ("a wake-up was armed before the input's instant", call)
            }
            Violation::ActionAfterVerdict { call } => {
                ("actions came out after the verdict", call)
            }
            Violation::WakeupMismatch { call } => (
                "a live machine had no wake-up, or a dead one had one",
                call,
            ),
            Violation::SilentRearm { call } => {
                ("the pending wake-up moved without an ArmTimer action", call)
            }
            Violation::TimerWithVerdict { call } => {
                ("a timer was armed together with the verdict", call)
            }
            Violation::ZeroLengthLoop { call } => {
                ("the machine kept asking to be woken at once", call)
            }
        };
        write!(f, "call {call}: {what}")
    }
}

impl std::error::Error for Violation {}

/// Follows one machine through its calls and checks each one.
///
/// Call [`Checker::new`] right after creating the machine, then
/// [`Checker::check`] after every input with what the call returned.
#[derive(Clone, Debug)]
pub struct Checker<I> {
    armed: Option<Wakeup<I>>,
    dead: bool,
    calls: u64,
    zero_length: u32,
}

impl<I: Instant + fmt::Debug> Checker<I> {
    /// Starts following `machine`, which must not have been fed yet.
    pub fn new(machine: &Machine<I>) -> Self {
        Checker {
            armed: machine.next_wakeup(),
            dead: machine.is_dead(),
            calls: 0,
            zero_length: 0,
        }
    }

    /// Checks the call `machine.handle(now, input)` that returned
    /// `actions`.
    pub fn check(
        &mut self,
        machine: &Machine<I>,
        now: I,
        input: Input,
        actions: &Actions<I>,
    ) -> Result<(), Violation> {
        let call = self.calls;
        self.calls += 1;
        let pending = machine.next_wakeup();

        if self.dead && input != Input::Reset {
            if !actions.is_empty() {
                return Err(Violation::ActionAfterVerdict { call });
            }
            if pending.is_some() {
                return Err(Violation::WakeupMismatch { call });
            }
            return Ok(());
        }
        if input == Input::Reset {
            self.dead = false;
        }

        let verdict = matches!(actions.output, Some(Action::Dead(_)));
        if verdict {
            if actions.timer.is_some() {
                return Err(Violation::TimerWithVerdict { call });
            }
            self.dead = true;
        }
        if machine.is_dead() != pending.is_none() || machine.is_dead() != verdict
        {
            return Err(Violation::WakeupMismatch { call });
        }
        let Some(pending) = pending else {
            self.armed = None;
            return Ok(());
        };

        if pending.at < now {
            return Err(Violation::ArmedInThePast { call });
        }
        match actions.timer {
            Some(timer) if timer != pending => {
                return Err(Violation::SilentRearm { call });
            }
            None if self.armed.map(|armed| armed.at) != Some(pending.at) => {
                return Err(Violation::SilentRearm { call });
            }
            _ => {}
        }
        self.armed = Some(pending);

        // At the last instant the type can hold no later wake-up can be
        // expressed, so waking at once there is the only honest answer.
        let end_of_time = now.checked_add(Duration::from_nanos(1)).is_none();
        if pending.at == now && input == Input::Timer && !end_of_time {
            self.zero_length += 1;
            if self.zero_length > MAX_ZERO_LENGTH_WAKEUPS {
                return Err(Violation::ZeroLengthLoop { call });
            }
        } else {
            self.zero_length = 0;
        }
        Ok(())
    }
}

/// Feeds `inputs` to `machine` in order and checks every call.
pub fn check_inputs<I: Instant + fmt::Debug>(
    machine: &mut Machine<I>,
    inputs: impl IntoIterator<Item = (I, Input)>,
) -> Result<(), Violation> {
    let mut checker = Checker::new(machine);
    for (now, input) in inputs {
        let actions = machine.handle(now, input);
        checker.check(machine, now, input, &actions)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Nanos};

    #[test]
    fn a_timer_held_at_the_armed_instant_forever_is_not_a_loop() {
        let mut machine = Machine::new(Config::default(), Nanos(0));
        let mut inputs = Vec::new();
        let mut now = Nanos(0);
        for _ in 0..200 {
            now = machine.next_wakeup().map_or(now, |wakeup| wakeup.at);
            inputs.push((now, Input::Timer));
            let _ = machine.handle(now, Input::Timer);
        }

        let mut fresh = Machine::new(Config::default(), Nanos(0));
        assert_eq!(check_inputs(&mut fresh, inputs), Ok(()));
    }

    #[test]
    fn anything_after_the_verdict_is_caught() {
        let mut machine = Machine::new(Config::default(), Nanos(0));
        let mut checker = Checker::new(&machine);
        let mut now = Nanos(0);
        loop {
            now = machine.next_wakeup().expect("live until the verdict").at;
            let actions = machine.on_timer(now);
            checker
                .check(&machine, now, Input::Timer, &actions)
                .expect("a silent peer is checked cleanly");
            if actions.dead().is_some() {
                break;
            }
        }
        let made_up = Actions {
            output: Some(Action::SendHeartbeat),
            ..Actions::none()
        };

        let seen = checker.check(&machine, now, Input::Timer, &made_up);

        assert!(matches!(seen, Err(Violation::ActionAfterVerdict { .. })));
    }
}
