//! Mail to people: the outbox the mail worker sends from, and the reports it holds.

pub mod composed;
pub mod outbox;
pub mod reports;
pub mod statement;
pub mod texts;
