//! wx-session: the client-side session of a WeChat mini-program — login through `wx.login`,
//! token storage, `checkHasLogined`, logout — in Rust compiled to WebAssembly.
//!
//! This file holds the `#[wasm_bindgen]` exports only: JS values in, JS values out. The session
//! logic is in [`session`], server dialects in [`protocol`], storage layout in [`store`], and the
//! `wx` runtime behind the [`platform::Platform`] seam in [`wx`].

#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented,
        clippy::string_slice
    )
)]

pub mod bridge;
pub mod error;
pub mod flight;
pub mod json;
pub mod platform;
pub mod protocol;
pub mod options;
pub mod revocations;
pub mod session;
pub mod store;
pub mod wx;

#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod testing;

/// lol_alloc's free-list allocator instead of Rust's default dlmalloc: about 2 KB smaller in the
/// shipped module (README, "Dependencies"). The module is single-threaded (no atomics), which is
/// what `AssumeSingleThreaded` requires.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
// SAFETY: wasm32 without the atomics feature has one thread; nothing else touches the allocator.
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, spawn_local};

/// Every exported async method goes through one boxed future type, so the future-to-promise
/// machinery is compiled once instead of once per method (kilobytes of wasm each).
type JsTask = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

fn promise(task: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    future_to_promise(Box::pin(task) as JsTask)
}

use crate::options::OptionsInput;
use crate::wx::{WxCall, WxPlatform};

/// Retries queued revocations in the background (single-flight inside the session).
fn retry_revocations_soon(core: &Rc<session::Session<WxPlatform>>) {
    let core = Rc::clone(core);
    spawn_local(async move {
        core.retry_revocations().await;
    });
}

/// The session object `miniprogram/session/index.js` creates once per app launch.
#[wasm_bindgen]
pub struct Session {
    core: Rc<session::Session<WxPlatform>>,
}

#[wasm_bindgen]
impl Session {
    /// Creates the session from `init(options)`; throws an `INVALID_OPTIONS` error naming the bad option.
    /// `wx` and `get_current_pages` are the runtime's, as the loader sees them in its own scope
    /// (bundlers such as Taro's webpack replace the global object, so the module does not search it).
    /// Without `wx` it throws `WX_UNAVAILABLE`; without `getCurrentPages` logout refreshes no page.
    #[wasm_bindgen(constructor)]
    pub fn new(
        options: JsValue,
        wx: Option<js_sys::Object>,
        get_current_pages: Option<Function>,
    ) -> Result<Session, JsValue> {
        let read = || -> Result<Session, error::SessionError> {
            let (input, keys) = bridge::read_options::<OptionsInput>(&options)?;
            let protocol = bridge::protocol_option(&options)?;
            let init = options::init_options(input, &keys, protocol.as_ref())?;
            let adapter = bridge::adapt_answer_hook(&options)?;
            let platform = WxPlatform::new(wx, get_current_pages, init.timeout_ms, adapter)?;
            Ok(Session { core: Rc::new(session::Session::new(platform, init.protocol, init.config)) })
        };
        read().map_err(|e| bridge::error_value(&e))
    }

    /// Sets the function that receives `onChange` events.
    #[wasm_bindgen(js_name = setListener)]
    pub fn set_listener(&self, listener: Option<Function>) {
        self.core.platform().set_listener(listener);
    }

    /// Background duties of a fresh launch: retry revocations the server never confirmed, now and
    /// whenever the network comes back.
    pub fn start(&self) {
        retry_revocations_soon(&self.core);
        let core = Rc::clone(&self.core);
        let on_change = Closure::<dyn FnMut(JsValue)>::new(move |status: JsValue| {
            if wx::get(&status, "isConnected").as_bool() == Some(true) {
                retry_revocations_soon(&core);
            }
        });
        // One listener for the app's whole life, so the closure is deliberately never freed.
        if self.core.platform().on_network_change(on_change.as_ref().unchecked_ref()) {
            on_change.forget();
        }
    }

    /// `wx.request` with the session's token; resolves `{ statusCode, data, header }` (2xx),
    /// rejects with a coded error otherwise. `options.loadingText` shows a loading toast meanwhile.
    pub fn request(&self, options: JsValue) -> Promise {
        self.call(options, false)
    }

    /// `wx.uploadFile` with `request()`'s guarantees; resolves `{ statusCode, data }`, `data`
    /// parsed when the server answered JSON.
    #[wasm_bindgen(js_name = uploadFile)]
    pub fn upload_file(&self, options: JsValue) -> Promise {
        self.call(options, true)
    }

    fn call(&self, options: JsValue, upload: bool) -> Promise {
        let core = Rc::clone(&self.core);
        let call = bridge::call_options(&options, core.base_url());
        promise(async move {
            let (options, loading) = call.map_err(|e| bridge::error_value(&e))?;
            let result = core.request(&WxCall { options, upload }, loading.as_deref()).await;
            if revocations::has_pending(core.platform()) {
                retry_revocations_soon(&core);
            }
            result.map_err(|e| bridge::error_value(&e))
        })
    }

    /// Logs in; resolves `{ token, uid?, userInfo?, expiresAt? }`. `options.fields` are extra
    /// login fields for the server (litemall's `userInfo`, for example).
    pub fn login(&self, options: JsValue) -> Promise {
        let core = Rc::clone(&self.core);
        let fields = bridge::read_options::<OptionsInput>(&options).and_then(|(input, keys)| options::login_fields(input, &keys));
        promise(async move {
            let fields = fields.map_err(|e| bridge::error_value(&e))?;
            core.login(&fields).await.map(|o| bridge::session_value(&o.session)).map_err(|e| bridge::error_value(&e))
        })
    }

    /// Resolves `true`/`false`; rejects (token kept) when the server could not be asked.
    #[wasm_bindgen(js_name = checkHasLogined)]
    pub fn check_has_logined(&self) -> Promise {
        let core = Rc::clone(&self.core);
        promise(async move {
            core.check_has_logined().await.map(JsValue::from_bool).map_err(|e| bridge::error_value(&e))
        })
    }

    /// Logs out; resolves `{ wasLoggedIn, serverConfirmed, server }`.
    pub fn logout(&self, options: JsValue) -> Promise {
        let core = Rc::clone(&self.core);
        let refresh =
            bridge::read_options::<OptionsInput>(&options).and_then(|(input, keys)| options::logout_options(input, &keys));
        promise(async move {
            let refresh = refresh.map_err(|e| bridge::error_value(&e))?;
            Ok(bridge::logout_value(&core.logout(&refresh).await))
        })
    }

    /// The current token, or `undefined` when logged out.
    #[wasm_bindgen(js_name = getToken)]
    pub fn get_token(&self) -> Option<String> {
        self.core.token().map(|t| t.as_str().to_owned())
    }

    /// The stored session `{ token, uid?, userInfo?, expiresAt? }`, or `null` when logged out —
    /// so pages never read the storage keys themselves.
    #[wasm_bindgen(js_name = getSession)]
    pub fn get_session(&self) -> JsValue {
        self.core.current().map_or(JsValue::NULL, |s| bridge::session_value(&s))
    }
}
