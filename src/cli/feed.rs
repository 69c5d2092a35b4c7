//! `nudged feed-url [--rotate]`: make the secret calendar feed URL. Only the token's
//! hash is kept, so a URL can be shown once, when it is made; `--rotate` makes a new
//! one and the old URL stops working. `nudged links [--rotate]`: the same for the key
//! that signs one-click links.

use anyhow::Result;

use super::{Context, UsageError, print_json};
use crate::web::{links, token};

pub fn feed_url(ctx: &Context, rotate: bool) -> Result<()> {
    let Some(web) = &ctx.config.web else {
        return Err(UsageError(
            "the feed needs a [web] section with listen and public_url in the config".into(),
        )
        .into());
    };
    let mut store = ctx.open_store()?;
    let existed = token::stored_hash(&store)?.is_some();
    if existed && !rotate {
        return Err(UsageError(
            "a feed URL exists already and is shown only once (only its hash is kept); \
             `nudged feed-url --rotate` makes a new one and the old URL stops working"
                .into(),
        )
        .into());
    }
    let token = token::new_token(&mut store)?;
    let (events, todos) = token::feed_urls(&web.base_url(), &token);
    if ctx.json {
        return print_json(&serde_json::json!({
            "events": events,
            "todos": todos,
            "rotated": existed,
        }));
    }
    if existed {
        eprintln!("The old feed URL no longer works.");
    }
    println!("{events}");
    eprintln!("To-do variant for task apps: {todos}");
    eprintln!("Keep it secret: anyone with the URL can read your follow-ups.");
    Ok(())
}

pub fn links(ctx: &Context, rotate: bool) -> Result<()> {
    let mut store = ctx.open_store()?;
    let path = if rotate {
        links::rotate_key(&mut store)?
    } else {
        links::signing_key(&mut store)?;
        links::key_path(store.path()).unwrap_or_default()
    };
    if ctx.json {
        return print_json(&serde_json::json!({
            "key_file": path,
            "rotated": rotate,
        }));
    }
    println!("{}", path.display());
    if rotate {
        eprintln!(
            "New link-signing key made: links in earlier digests are refused from now on \
             (a running nudged picks the new key up at its next request)."
        );
    } else {
        eprintln!(
            "The key that signs one-click links; it is not in the database, so `nudged backup` \
             copies leave it out. `nudged links --rotate` replaces it."
        );
    }
    Ok(())
}
