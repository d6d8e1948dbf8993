//! Mosaic's single-page app: Yew compiled to WebAssembly, talking to the Mosaic API with the same
//! wire types the server uses (`mosaic-types`).

mod access;
mod app;
mod components;
mod format;
mod hooks;
mod pages;
mod services;
mod session;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
