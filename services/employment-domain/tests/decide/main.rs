//! Given/when/then tests of `EmploymentState::decide`: given registry facts and past events, when
//! a command is decided, then exactly these events (or this refusal) come out. One test per rule.

mod support;

mod apply;
mod post;
mod reaction;
mod spell;
mod training;
mod workshop;
