//! The web app in a real browser (Debian's chromium, driven through chromedriver), against the real
//! server, PostgreSQL and LXD hosts.

mod browser;
mod real_hosts;
mod roles;
mod rollouts;
mod walkthrough;
