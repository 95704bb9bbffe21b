//! The user store itself (`wx_session_server::users`), on SQLite and — when `DATABASE_URL`
//! names one — on PostgreSQL: first login creates, later logins keep the uid and move the last
//! login, profile fields are stored, racing first logins make one user, and the data is still
//! there after the store is reopened.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use wx_session_server::users::{Database, Users, SQLITE_FILE};

/// An openid no other test or earlier run used.
fn openid(name: &str) -> String {
    format!(
        "openid_{name}_{}",
        wx_session_server::token::random_hex(6).unwrap()
    )
}

/// Everything the store promises, on whichever database `open` opens.
async fn exercise(database: Database) {
    let users = Users::open(database.clone()).await.expect("open the store");
    let alice = openid("alice");

    let first = users.login(&alice, None).await.unwrap();
    assert!(
        first.uid.starts_with("u_") && first.uid.len() == 18,
        "{}",
        first.uid
    );
    assert!(!first.uid.contains(&alice));
    assert_eq!(first.created_at, first.last_login_at);
    assert_eq!(
        (
            first.nickname.as_deref(),
            first.avatar.as_deref(),
            first.phone.as_deref()
        ),
        (None, None, None)
    );

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = users.login(&alice, Some("union_1")).await.unwrap();
    assert_eq!(second.uid, first.uid, "an openid keeps its uid");
    assert_eq!(second.created_at, first.created_at);
    assert!(second.last_login_at > first.last_login_at);
    assert_eq!(second.unionid.as_deref(), Some("union_1"));
    // A later login without a unionid does not erase it.
    let third = users.login(&alice, None).await.unwrap();
    assert_eq!(third.unionid.as_deref(), Some("union_1"));

    let bob = users.login(&openid("bob"), None).await.unwrap();
    assert_ne!(bob.uid, first.uid);

    let updated = users
        .set_nickname(&first.uid, "小明 🐼")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.nickname.as_deref(), Some("小明 🐼"));
    let name = format!("{}.png", "a".repeat(64));
    users.set_avatar(&first.uid, &name).await.unwrap().unwrap();
    users
        .set_phone(&first.uid, "13800001234")
        .await
        .unwrap()
        .unwrap();
    let stored = users.get(&first.uid).await.unwrap().unwrap();
    assert_eq!(stored.avatar.as_deref(), Some(name.as_str()));
    assert_eq!(stored.phone.as_deref(), Some("13800001234"));
    assert_eq!(
        users.get(&bob.uid).await.unwrap().unwrap().nickname,
        None,
        "only Alice changed"
    );
    assert!(users.get("u_0000000000000000").await.unwrap().is_none());
    assert!(users
        .set_nickname("u_0000000000000000", "x")
        .await
        .unwrap()
        .is_none());

    // Eight first logins of one openid at once, on the runtime's threads: one user, one uid.
    let users = Arc::new(users);
    let carol = openid("carol");
    let logins: Vec<_> = (0..8)
        .map(|_| {
            let (users, carol) = (Arc::clone(&users), carol.clone());
            tokio::spawn(async move { users.login(&carol, None).await.unwrap().uid })
        })
        .collect();
    let mut uids = HashSet::new();
    for login in logins {
        uids.insert(login.await.unwrap());
    }
    assert_eq!(uids.len(), 1, "{uids:?}");

    // Reopened (as after a restart; migrations already applied): everything is still there.
    drop(users);
    let users = Users::open(database).await.expect("reopen the store");
    let again = users.login(&alice, None).await.unwrap();
    assert_eq!(again.uid, first.uid);
    assert_eq!(again.nickname.as_deref(), Some("小明 🐼"));
    assert_eq!(again.phone.as_deref(), Some("13800001234"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_under_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("nested").join("data");
    let database = Database::new(&data_dir, None);
    assert_eq!(database, Database::Sqlite(data_dir.join(SQLITE_FILE)));
    exercise(database).await;
    assert!(
        data_dir.join(SQLITE_FILE).is_file(),
        "users.db created with its directories"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_when_database_url_says_so() {
    let Some(url) = common::database_url().filter(|url| url.starts_with("postgres")) else {
        eprintln!("skipped: DATABASE_URL names no PostgreSQL (scripts/test-server.sh runs one)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let database = Database::new(dir.path(), Some(&url));
    assert_eq!(database, Database::Url(url.clone()));
    exercise(database).await;
    assert!(
        !dir.path().join(SQLITE_FILE).exists(),
        "no SQLite file when PostgreSQL is used"
    );
}

#[tokio::test]
async fn an_unreachable_database_fails_to_open_with_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("postgres://wxs:hunter2@127.0.0.1:{port}/nothing");
    let error = Users::open(Database::Url(url)).await.unwrap_err();
    let text = error.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("database"), "{text}");
}
