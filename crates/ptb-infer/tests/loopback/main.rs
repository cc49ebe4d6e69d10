//! Real HTTP on 127.0.0.1: the client against the fixed server, the launcher with fake engines.

mod client;
mod fixed_server;
mod launcher;
