//! The web app in a real browser (Debian's chromium, driven through chromedriver), against the real
//! server, PostgreSQL and LXD hosts.

mod browser;
mod roles;
mod walkthrough;
