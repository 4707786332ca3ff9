//! Given/when/then tests of `RegistryState::decide`: given past events, when a command is decided,
//! then exactly these events (or this refusal) come out. One test per rule.

mod support;

mod apply;
mod case_advance;
mod case_assist;
mod case_open;
mod consistency;
mod household;
mod person;
