//! Chairing a room, as pure state: raised hands, the floor, microphones the chair has
//! closed, the lock. The roster holds one [`Floor`] per room and asks it, after every
//! change, whose microphone the media plane must forward ([`Floor::audio_allowed`]).
//!
//! The rule: while a chair is in the room the room is *moderated*: chairs speak, the floor
//! holder speaks, nobody else is forwarded. Without a chair everyone speaks (a small
//! meeting needs no moderator). In both, a microphone the chair closed stays closed until
//! the chair reopens it or gives that participant the floor.

use std::collections::BTreeSet;

use bridge_sfu::ParticipantId;
use bridge_token::Role;
use serde::{Deserialize, Serialize};

/// What a participant asks of the room's chairing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChairCommand {
    /// Any speaking participant: raise or lower its own hand.
    RaiseHand {
        raised: bool,
    },
    /// Chair only, from here on.
    GrantFloor {
        participant: ParticipantId,
    },
    RevokeFloor,
    /// `None`: everyone but the chairs.
    ForceMute {
        participant: Option<ParticipantId>,
        muted: bool,
    },
    Remove {
        participant: ParticipantId,
    },
    Lock {
        locked: bool,
    },
}

impl ChairCommand {
    pub fn needs_chair(&self) -> bool {
        !matches!(self, ChairCommand::RaiseHand { .. })
    }

    /// The client message this command came from (for `error.request`).
    pub fn type_name(&self) -> &'static str {
        match self {
            ChairCommand::RaiseHand { .. } => "raise_hand",
            ChairCommand::GrantFloor { .. } => "grant_floor",
            ChairCommand::RevokeFloor => "revoke_floor",
            ChairCommand::ForceMute { .. } => "force_mute",
            ChairCommand::Remove { .. } => "remove",
            ChairCommand::Lock { .. } => "lock",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChairError {
    #[error("only a chair may do this")]
    NotChair,
    #[error("a viewer cannot ask to speak")]
    Viewer,
    #[error("no participant {0} in this room")]
    Unknown(ParticipantId),
    #[error("a chair cannot be muted or removed by another chair")]
    TargetIsChair,
    #[error("a room cannot be linked into itself")]
    LinkSelf,
    #[error("that room takes part in another conference; its chair must release it first")]
    LinkedElsewhere,
    #[error("that room is not linked into this one")]
    NotLinkedHere,
}

/// A raised hand, oldest first in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hand {
    pub participant_id: ParticipantId,
    /// Unix milliseconds when it was raised.
    pub since_ms: u64,
}

/// The chairing state everyone in the room sees (in `joined`, then `floor` on change).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloorState {
    pub holder: Option<ParticipantId>,
    pub hands: Vec<Hand>,
    pub moderated: bool,
    pub locked: bool,
    /// Microphones the chair has closed.
    pub muted_by_chair: Vec<ParticipantId>,
}

/// What a command changed beyond the state itself.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The participant the chair removed: its session must end.
    pub remove: Option<ParticipantId>,
}

#[derive(Debug, Default)]
pub struct Floor {
    hands: Vec<Hand>,
    holder: Option<ParticipantId>,
    muted: BTreeSet<ParticipantId>,
    locked: bool,
}

/// The members of a room as chairing needs them.
pub type Members<'a> = &'a [(ParticipantId, Role)];

fn role_of(members: Members<'_>, id: &ParticipantId) -> Option<Role> {
    members.iter().find(|(p, _)| p == id).map(|(_, r)| *r)
}

pub fn moderated(members: Members<'_>) -> bool {
    members.iter().any(|(_, r)| *r == Role::Chair)
}

impl Floor {
    pub fn locked(&self) -> bool {
        self.locked
    }

    pub fn state(&self, members: Members<'_>) -> FloorState {
        FloorState {
            holder: self.holder.clone(),
            hands: self.hands.clone(),
            moderated: moderated(members),
            locked: self.locked,
            muted_by_chair: self.muted.iter().cloned().collect(),
        }
    }

    /// Whether the media plane forwards `id`'s microphone now.
    pub fn audio_allowed(&self, id: &ParticipantId, role: Role, members: Members<'_>) -> bool {
        if self.muted.contains(id) {
            return false;
        }
        !moderated(members) || role == Role::Chair || self.holder.as_ref() == Some(id)
    }

    pub fn apply(
        &mut self,
        actor: &ParticipantId,
        cmd: ChairCommand,
        members: Members<'_>,
        now_ms: u64,
    ) -> Result<Outcome, ChairError> {
        let actor_role =
            role_of(members, actor).ok_or_else(|| ChairError::Unknown(actor.clone()))?;
        if cmd.needs_chair() && actor_role != Role::Chair {
            return Err(ChairError::NotChair);
        }
        let known = |id: &ParticipantId| match role_of(members, id) {
            Some(r) => Ok(r),
            None => Err(ChairError::Unknown(id.clone())),
        };
        match cmd {
            ChairCommand::RaiseHand { .. } if actor_role == Role::Viewer => {
                return Err(ChairError::Viewer);
            }
            ChairCommand::RaiseHand { raised: true } => {
                if !self.hands.iter().any(|h| &h.participant_id == actor) {
                    self.hands.push(Hand {
                        participant_id: actor.clone(),
                        since_ms: now_ms,
                    });
                }
            }
            ChairCommand::RaiseHand { raised: false } => self.lower(actor),
            ChairCommand::GrantFloor { participant } => {
                known(&participant)?;
                self.lower(&participant);
                self.muted.remove(&participant);
                self.holder = Some(participant);
            }
            ChairCommand::RevokeFloor => self.holder = None,
            ChairCommand::ForceMute {
                participant: Some(p),
                muted,
            } => {
                if known(&p)? == Role::Chair {
                    return Err(ChairError::TargetIsChair);
                }
                if muted {
                    self.muted.insert(p);
                } else {
                    self.muted.remove(&p);
                }
            }
            ChairCommand::ForceMute {
                participant: None,
                muted,
            } => {
                if muted {
                    let others = members.iter().filter(|(_, r)| *r != Role::Chair);
                    self.muted.extend(others.map(|(p, _)| p.clone()));
                    self.holder = None;
                } else {
                    self.muted.clear();
                }
            }
            ChairCommand::Remove { participant } => {
                if known(&participant)? == Role::Chair {
                    return Err(ChairError::TargetIsChair);
                }
                self.left(&participant);
                return Ok(Outcome {
                    remove: Some(participant),
                });
            }
            ChairCommand::Lock { locked } => self.locked = locked,
        }
        Ok(Outcome::default())
    }

    fn lower(&mut self, id: &ParticipantId) {
        self.hands.retain(|h| &h.participant_id != id);
    }

    /// A participant left: its hand, floor and mute go with it.
    pub fn left(&mut self, id: &ParticipantId) {
        self.lower(id);
        self.muted.remove(id);
        if self.holder.as_ref() == Some(id) {
            self.holder = None;
        }
    }

    /// The room emptied of chairs: nobody is left to unlock it.
    pub fn chairs_gone(&mut self) {
        self.locked = false;
    }
}

#[cfg(test)]
#[path = "chair_tests.rs"]
mod tests;
