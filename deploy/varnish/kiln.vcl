vcl 4.1;

# Varnish 7 in front of Kiln: a shared HTTP cache for anonymous readers, purged by tag.
#
# - Kiln marks the pages it may share `Cache-Control: public, max-age=0, s-maxage=<timeout>` and
#   lists their tags in `xkey` (and `Surrogate-Key`); everything else it sends is `private,
#   no-store` or carries no shared-cache directive, and is never stored here.
# - Kiln sends `PURGE` with `xkey-purge: tag1 tag2` on every invalidation; the objects carrying
#   any of those tags are removed at once (a hard purge: the next reader waits for Kiln rather
#   than getting the old page while it refreshes). `xkey-purge: all` removes every object.
# - Requests that may belong to the author (Kiln's session cookie) and every method other than
#   GET/HEAD go straight to Kiln, cookies intact. Other requests lose their cookies and are
#   normalised the way Kiln's page keys are, so equal pages share one object.
#
# Started by deploy/varnish/run.sh, which writes `kiln-site.vcl` beside its state: the backend
# (`backend kiln`, from KILN_BACKEND) and the addresses allowed to purge (`acl purgers`, from
# PURGE_ALLOW), so this file holds no address.

import std;
import xkey;

include "kiln-site.vcl";

sub vcl_recv {
    if (req.method == "PURGE") {
        call kiln_purge;
    }
    # Kiln's own answers about itself: never shared, whoever asks.
    if (req.http.Authorization || req.url ~ "^/(metrics|healthz|_toolbar)(/|\?|$)") {
        return (pass);
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # The same test as Kiln's page front (mayHaveSession): only a request carrying the session
    # cookie, valid or not, can turn out to be the author's.
    if (req.http.Cookie ~ "kiln\.sid=") {
        return (pass);
    }
    # Readers' pages never depend on a cookie: dropping them lets every reader share one object
    # (the login form's own cookie goes with POST /login, which passes above).
    unset req.http.Cookie;
    call kiln_normalise_query;
    call kiln_normalise_encoding;
    return (hash);
}

# PURGE / with `xkey-purge: tag1 tag2` (or the vmod's own `xkey:` spelling): removes every object
# carrying any of the tags; answers 200 with the count in `xkey-purged`.
sub kiln_purge {
    if (client.ip !~ purgers) {
        return (synth(403, "Forbidden"));
    }
    if (req.http.xkey-purge) {
        set req.http.x-kiln-purged = xkey.purge(req.http.xkey-purge);
    } elsif (req.http.xkey) {
        set req.http.x-kiln-purged = xkey.purge(req.http.xkey);
    } else {
        return (synth(400, "An xkey-purge header is required"));
    }
    return (synth(200, "Purged " + req.http.x-kiln-purged));
}

# Mirrors the page-key rule: `/` and `/category/<name>` read only `page`, `/api/v1/posts` only
# `category` and `page`; those are kept, sorted, and every other parameter is dropped. Any other
# page with a query string goes to Kiln uncached, as Kiln bypasses its own cache for it. Whatever
# Kiln would read differently from this (a repeated kept parameter, an encoded name) passes too.
sub kiln_normalise_query {
    if (req.url !~ "\?") {
        return;
    }
    set req.http.x-kiln-path = regsub(req.url, "\?.*$", "");
    set req.http.x-kiln-query = "&" + regsub(req.url, "^[^?]*\?", "") + "&";
    if (req.http.x-kiln-query ~ "&[^=&]*[%+][^=&]*[=&]") {
        return (pass);
    }
    if (req.http.x-kiln-query ~ "&page[=&].*&page[=&]" || req.http.x-kiln-query ~ "&category[=&].*&category[=&]") {
        return (pass);
    }
    set req.http.x-kiln-kept = "";
    if (req.http.x-kiln-path == "/api/v1/posts" && req.http.x-kiln-query ~ "&category[=&]") {
        set req.http.x-kiln-kept = "&category=" + regsub(req.http.x-kiln-query, "^.*&category(=([^&]*))?&.*$", "\2");
    } elsif (req.http.x-kiln-path != "/api/v1/posts" && req.http.x-kiln-path !~ "^/(category/[^/]+)?$") {
        return (pass);
    }
    if (req.http.x-kiln-query ~ "&page[=&]") {
        set req.http.x-kiln-kept = req.http.x-kiln-kept + "&page=" + regsub(req.http.x-kiln-query, "^.*&page(=([^&]*))?&.*$", "\2");
    }
    if (req.http.x-kiln-kept == "") {
        set req.url = req.http.x-kiln-path;
    } else {
        set req.url = req.http.x-kiln-path + "?" + regsub(req.http.x-kiln-kept, "^&", "");
    }
    unset req.http.x-kiln-path;
    unset req.http.x-kiln-query;
    unset req.http.x-kiln-kept;
}

# Three variants at most for a response that varies on Accept-Encoding: br, gzip or identity.
# With Varnish's gzip support on (the default) the core has already reduced the header to gzip or
# nothing and fetches gzip, so every spelling shares one object; this holds if it is turned off.
# The encodings Kiln stores variants of, each accepted only when listed without `q=0` (RFC 9110
# §12.5.3: a q-value of 0 means "not acceptable"): br first, then gzip, else identity.
sub kiln_normalise_encoding {
    if (req.http.Accept-Encoding ~ "(^|,)\s*br\s*(,|$|;\s*q\s*=\s*(1(\.0*)?|0?\.[0-9]*[1-9][0-9]*)\s*(,|$))") {
        set req.http.Accept-Encoding = "br";
    } elsif (req.http.Accept-Encoding ~ "(^|,)\s*gzip\s*(,|$|;\s*q\s*=\s*(1(\.0*)?|0?\.[0-9]*[1-9][0-9]*)\s*(,|$))") {
        set req.http.Accept-Encoding = "gzip";
    } else {
        unset req.http.Accept-Encoding;
    }
}

# Kiln builds every link from SITE_URL, never from Host, so one site is one object per URL.
sub vcl_hash {
    hash_data(req.url);
    return (lookup);
}

sub vcl_backend_response {
    if (bereq.uncacheable) {
        return (deliver);
    }
    # Stored only when Kiln said a shared cache may keep it; never with a cookie, never private.
    if (beresp.http.Set-Cookie
        || beresp.http.Cache-Control ~ "(?i)(^|,)\s*(private|no-store|no-cache)\b"
        || beresp.http.Cache-Control !~ "(?i)(^|,)\s*(public|s-maxage=)") {
        set beresp.uncacheable = true;
        set beresp.ttl = 60s;
        return (deliver);
    }
    # Every stored object also carries `all`, which `npm run cache:clear` purges.
    if (beresp.http.xkey) {
        set beresp.http.xkey = beresp.http.xkey + " all";
    } else {
        set beresp.http.xkey = "all";
    }
    return (deliver);
}

sub vcl_deliver {
    # Tags are for this cache; readers have no use for them.
    unset resp.http.xkey;
    unset resp.http.Surrogate-Key;
    if (obj.uncacheable) {
        set resp.http.X-Varnish-Cache = "PASS";
    } elsif (obj.hits > 0) {
        set resp.http.X-Varnish-Cache = "HIT";
    } else {
        set resp.http.X-Varnish-Cache = "MISS";
    }
}

sub vcl_synth {
    if (req.method == "PURGE") {
        set resp.http.Content-Type = "text/plain; charset=utf-8";
        if (req.http.x-kiln-purged) {
            set resp.http.xkey-purged = req.http.x-kiln-purged;
        }
        set resp.body = resp.reason + {"
"};
        return (deliver);
    }
}
