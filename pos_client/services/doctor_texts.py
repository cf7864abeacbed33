"""The doctor's sentences, in English and Persian, by key (see :mod:`pos_client.services.doctor`).

Each finding has a ``detail`` (what was found) and, unless all is well, an
``advice`` (what to do). Placeholders are filled by :func:`say`; numbers are
written with Persian digits in the Persian texts, while paths, URLs, versions
and commands stay as they are (they are typed as shown). The Persian follows
the project's glossary (پایانه، بارکدخوان، چاپگر، ترازو، عیب‌یابی).

Every key has both languages, and a Persian sentence holds no English one:
only codes, commands, paths, URLs and key names stay in Latin letters. What a
driver or the network says in English is replaced by a ``cause.*`` sentence in
a Persian report (:mod:`pos_client.services.doctor.causes`).

No sentence here may carry the terminal's token or a national ID: the callers
pass only paths, URLs, versions, counts and the drivers' own messages.

Imports the standard library and the domain's digit helper only.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Final

from pos_client.domain.money import Lang, to_persian_digits

__all__ = ["LABELS", "VERDICT_WORDS", "Lang", "label", "number", "placeholders", "say"]

#: What each check is called on screen, by the part of its name before ``:``.
LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "config": "config file",
        "store": "local store",
        "ledger": "central ledger",
        "clock": "clock",
        "token": "terminal token",
        "rules": "rules",
        "catalog": "catalog",
        "scanner": "scanner",
        "printer": "printer",
        "scale": "scale",
    },
    "fa": {
        "config": "پرونده تنظیمات",
        "store": "پایگاه داده محلی",
        "ledger": "سامانه مرکزی",
        "clock": "ساعت رایانه",
        "token": "توکن دسترسی پایانه",
        "rules": "قواعد برنامه",
        "catalog": "فهرست کالاهای مجاز",
        "scanner": "بارکدخوان",
        "printer": "چاپگر",
        "scale": "ترازو",
    },
}

VERDICT_WORDS: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {"ok": "ok", "warning": "warning", "failed": "failed"},
    "fa": {"ok": "درست", "warning": "هشدار", "failed": "خطا"},
}

_SYNC_EN = "Run `pos-client rules sync --config {config}` while the ledger answers."
_SYNC_FA = "فرمان `pos-client rules sync --config {config}` را وقتی سامانه پاسخ می‌دهد اجرا کنید."

_EN: Final[dict[str, str]] = {
    # config
    "config.ok": "terminal {terminal} in {city}; ledger {url}; file {path}",
    "config.unreadable": "the config cannot be used: {message}",
    "config.unreadable.advice": (
        "Fix `{key}` in {path} and run the doctor again "
        "(`pos-client config check` names the first problem)."
    ),
    "config.missing.advice": (
        "Write one with `pos-client config init --path FILE`, or name it with --config FILE."
    ),
    "config.missing": "there is no config file at {path}",
    "config.cannot_read": "{path} cannot be read by this user",
    "config.cannot_read.advice": "Give this user permission to read {path} "
    "(`chmod 600 {path}` as its owner).",
    "config.writable": "{path} can be changed by other users, and it holds the terminal's token",
    "config.writable.advice": "Run `chmod 600 {path}` as its owner, then run the doctor again.",
    "config.not_toml": "{path} is not a valid TOML text file",
    "config.not_toml.advice": "Fix the line `pos-client config check --config {path}` names, "
    "or write a new file with `pos-client config init --path FILE`.",
    "config.bad_key": "the value of `{key}` is not accepted",
    "config.open_mode": "{path} can be read by other users, and it holds the terminal's token",
    "config.open_mode.advice": "Run `chmod 600 {path}`.",
    "config.no_keys": (
        "[ledger.trusted_keys] is empty: the rules from the ledger cannot be checked"
    ),
    "config.no_keys.advice": (
        "Put the programme's public key (key id = base64url key) in [ledger.trusted_keys]."
    ),
    # store
    "store.ok": "{path}: {waiting} waiting to be sent, {problems} problems; last answer from "
    "the ledger: {contact}",
    "store.never": "never",
    "store.missing": "there is no store yet at {path}; the lane makes it when it first starts",
    "store.missing.advice": "Run `pos-client rules sync --config {config}` to make it and "
    "fetch the rules and the catalog.",
    "store.cannot_create": "there is no store at {path}, and its folder {folder} cannot be "
    "written by this user",
    "store.cannot_create.advice": "Make {folder} writable for this user, or point [store] path "
    "in {config} to a folder that is.",
    "store.unreadable": "the store cannot be used: {message}",
    "store.unreadable.advice": "The lane cannot record a sale without its store. Do what the "
    "message says (free disk space, fix permissions, or restore the file from a backup).",
    "store.read_only": "{path} cannot be written by this user: no sale can be recorded",
    "store.read_only.advice": "Give this user write permission on {folder} and the store files.",
    "store.low_space": "only {free} MB are free on the disk of {path}",
    "store.low_space.advice": "Free some disk space: a full disk stops sales.",
    "store.problems": "{count} problems need a person",
    "store.problems.advice": "See them with `pos-client problems list --config {config}`.",
    "store.stale": "{count} sales have waited to be sent since {oldest}",
    "store.stale.advice": "Check the connection to the ledger; "
    "`pos-client queue sync --config {config}` sends them now.",
    "store.stuck": "{count} sales have had no final answer from the ledger for over {hours} hours",
    "store.stuck.advice": "Never redo these sales. Run `pos-client queue sync --config {config}`; "
    "if they stay, give their ids from `pos-client problems list --config {config}` to support.",
    # ledger
    "ledger.ok": "{url} answers",
    "ledger.unreachable": "the ledger at {url} cannot be reached ({why})",
    "ledger.unreachable.advice": "Check the network (cable, Wi-Fi, modem) and ledger.url in "
    "{config}. Meanwhile sales within the offline limits go on and are sent later.",
    "ledger.refused": "the ledger at {url} refused the health check ({why})",
    "ledger.refused.advice": "Check ledger.url in {config}: it must be the programme's ledger.",
    # clock
    "clock.ok": "this computer's clock agrees with the ledger's (within {seconds} s)",
    "clock.ahead": "this computer's clock is {minutes} minutes ahead of the ledger's",
    "clock.behind": "this computer's clock is {minutes} minutes behind the ledger's",
    "clock.off.advice": "Set the date and time (turn automatic time on): QR codes and rules "
    "are checked against this clock.",
    # token
    "token.ok": "the ledger accepted the token of terminal {terminal}",
    "token.refused": "the ledger refused this terminal's token ({code})",
    "token.refused.advice": "Put the token issued for terminal {terminal} into ledger.token "
    "in {config}.",
    "token.forbidden": "the ledger does not let terminal {terminal} in ({code})",
    "token.forbidden.advice": "Ask the programme's support whether this terminal is active.",
    "token.unchecked": "not checked: {why}",
    "token.unreachable": "not checked: the ledger cannot be reached",
    "token.unchecked.advice": "Run the doctor again when the ledger answers.",
    # rules
    "rules.ok": "rules {version}, valid until {valid_until}, fetched {age} ago",
    "rules.not_compared": " (not compared with the ledger's: it cannot be reached)",
    "rules.none": "this lane holds no rules yet",
    "rules.none.advice": _SYNC_EN + " Until then the lane cannot approve offline.",
    "rules.expired": "the lane's rules {version} expired on {valid_until}: no offline "
    "approvals until they are refreshed",
    "rules.behind": "the lane holds rules {version}; the ledger has {remote}",
    "rules.untrusted_cache": "the rules kept on this lane fail the signature check",
    "rules.sync.advice": _SYNC_EN,
    "rules.refused": "the ledger's rules were refused: {why}",
    "rules.refused.advice": "Check [ledger.trusted_keys] in {config}: it must hold the "
    "programme's public key.",
    "rules.remote_expired": "the ledger's own rules expired on {valid_until}",
    "rules.remote_expired.advice": "Tell the programme's support.",
    # catalog
    "catalog.ok": "catalog {version} with {count} products",
    "catalog.none": "this lane holds no catalog of approved products",
    "catalog.behind": "the lane holds catalog {version}; the rules name {expected}",
    "catalog.sync.advice": _SYNC_EN,
    "catalog.unknown": "cannot tell: the store cannot be read",
    "catalog.unknown.advice": "Fix the store first.",
    # scanners
    "scanner.none": "no serial scanner configured; a keyboard-mode scanner types into the "
    "checkout screen and needs none",
    "scanner.ok": "{url}: connected",
    "scanner.scans": "{url}: connected; {count} scans in {seconds} s",
    "scanner.no_scans": "{url}: connected, but no scan arrived in {seconds} s",
    "scanner.no_scans.advice": "If you scanned meanwhile: set the scanner to serial (USB CDC) "
    "mode, not keyboard mode, and make its suffix match the URL (suffix=cr, lf, crlf or "
    "stx_etx).",
    "scanner.lost": "{url}: connected, then lost ({why})",
    "scanner.missing": "{url}: cannot be opened ({why})",
    "scanner.missing.advice": "Plug the scanner in and check its cable; find it under "
    "/dev/serial/by-id/ and put that path in devices.scanners in {config}. For 'no "
    "permission', add this user to the dialout group.",
    "scanner.timeout": "{url}: did not open within {seconds} s",
    # printer
    "printer.none": "no receipt printer configured: receipts are shown on the screen only",
    "printer.none.advice": "Set devices.printer in {config} (for example usb://0416:5011 or "
    "tcp://192.0.2.10:9100).",
    "printer.ok": "{url}: ready",
    "printer.paper_ok": ", paper ok",
    "printer.virtual": " (a virtual printer: nothing reaches paper)",
    "printer.ok_unknown": "{url}: connected (it does not report its paper)",
    "printer.printed": "{url}: a test page was printed; check that the Persian text reads "
    "right to left and that the paper was cut",
    "printer.paper_low": "{url}: the paper roll is nearly finished",
    "printer.paper_low.advice": "Keep a new roll at hand.",
    "printer.paper_out": "{url}: out of paper",
    "printer.paper_out.advice": "Load a new roll; receipts not printed can be printed again.",
    "printer.offline": "{url}: offline (cover open, or paper out?)",
    "printer.offline.advice": "Close the cover, check the paper, and switch the printer off "
    "and on.",
    "printer.unreachable": "{why}",
    "printer.unreachable.advice": "Switch the printer on and check its cable or network. For "
    "usb://, check that this user may use the device; for tcp://, the address and port.",
    "printer.failed": "{url}: the test page failed ({why})",
    # scale
    "scale.ok": "{url}: steady weight {grams} g",
    "scale.motion": "{url}: answers, but the weight is not steady",
    "scale.motion.advice": "Take everything off the platter and run the doctor again.",
    "scale.over": "{url}: over capacity",
    "scale.under": "{url}: below zero",
    "scale.zero.advice": "Empty the platter and zero the scale.",
    "scale.missing": "{why}",
    "scale.missing.advice": "Switch the scale on and check its cable; it must speak the "
    "Mettler Toledo 8217 protocol (9600 baud, 7 data bits, even parity unless the URL says "
    "otherwise).",
    # devices, any kind
    "device.bad_url": "{message}",
    "device.bad_url.advice": "Fix {key} in {config}.",
    "device.busy": "{url}: in use by another program (is the checkout running on this lane?)",
    "device.busy.advice": "Close the checkout on this lane and run the doctor again to test "
    "the device.",
    # a check that broke
    "internal": "this check failed unexpectedly ({kind})",
    "internal.advice": "Run `pos-client --verbose doctor` and report what it shows.",
    # causes, said in a Persian report instead of the English of a driver or the network
    "cause.libusb": "USB printers need libusb-1.0 (`apt install libusb-1.0-0`)",
    "cause.disk_full": "the disk is full",
    "cause.malformed": "the answer is not in the agreed form",
    "cause.damaged": "the file is damaged",
    "cause.read_only": "it can only be read, not written",
    "cause.busy": "in use by another program",
    "cause.gone": "unplugged or switched off",
    "cause.permission": "this user has no permission to use it",
    "cause.missing": "not there (unplugged?)",
    "cause.tls": "the TLS certificate was not accepted",
    "cause.dns": "the host name cannot be found",
    "cause.refused": "the connection was refused",
    "cause.network": "the network cannot reach it",
    "cause.timeout": "no answer in time",
    "cause.signature": "the signature does not check out",
    "cause.bad_url": "the device URL is not valid (unknown type or option)",
    "cause.other": "an unexpected error; run with --verbose to see it",
    # ages
    "age.minutes": "{n} minutes",
    "age.hours": "{n} hours",
    "age.days": "{n} days",
}

_FA: Final[dict[str, str]] = {
    # config
    "config.ok": "پایانه {terminal} در شهر {city}؛ سامانه {url}؛ پرونده {path}",
    "config.unreadable": "پرونده تنظیمات قابل استفاده نیست: {message}",
    "config.unreadable.advice": "مقدار `{key}` را در {path} درست کنید و دوباره عیب‌یابی را "
    "اجرا کنید (فرمان `pos-client config check` نخستین اشکال را نشان می‌دهد).",
    "config.missing.advice": "با فرمان `pos-client config init --path FILE` پرونده‌ای بسازید، "
    "یا نشانی آن را با --config FILE بدهید.",
    "config.missing": "پرونده تنظیماتی در {path} نیست",
    "config.cannot_read": "این کاربر نمی‌تواند {path} را بخواند",
    "config.cannot_read.advice": "به این کاربر اجازه خواندن {path} را بدهید (فرمان "
    "`chmod 600 {path}` را صاحب پرونده اجرا کند).",
    "config.writable": "کاربران دیگر این رایانه می‌توانند {path} را تغییر دهند، در حالی که "
    "توکن پایانه در آن است",
    "config.writable.advice": "فرمان `chmod 600 {path}` را صاحب پرونده اجرا کند و سپس "
    "دوباره عیب‌یابی را اجرا کنید.",
    "config.not_toml": "پرونده {path} متن TOML درستی نیست",
    "config.not_toml.advice": "سطری را که فرمان `pos-client config check --config {path}` نشان "
    "می‌دهد درست کنید، یا با `pos-client config init --path FILE` پرونده تازه‌ای بسازید.",
    "config.bad_key": "مقدار `{key}` پذیرفته نیست",
    "config.open_mode": "کاربران دیگر این رایانه هم می‌توانند {path} را بخوانند، در حالی "
    "که توکن پایانه در آن است",
    "config.open_mode.advice": "فرمان `chmod 600 {path}` را اجرا کنید.",
    "config.no_keys": "بخش [ledger.trusted_keys] خالی است: درستی قواعد دریافتی از سامانه "
    "را نمی‌توان سنجید",
    "config.no_keys.advice": "کلید عمومی برنامه (شناسه کلید = کلید base64url) را در "
    "[ledger.trusted_keys] بگذارید.",
    # store
    "store.ok": "{path}: {waiting} مورد در انتظار ارسال، {problems} مورد نیازمند رسیدگی؛ "
    "آخرین پاسخ سامانه: {contact}",
    "store.never": "هرگز",
    "store.missing": "هنوز پایگاه داده‌ای در {path} نیست؛ پایانه در نخستین اجرا آن را می‌سازد",
    "store.missing.advice": "فرمان `pos-client rules sync --config {config}` را اجرا کنید تا "
    "ساخته شود و قواعد و فهرست کالاها دریافت شود.",
    "store.cannot_create": "پایگاه داده‌ای در {path} نیست و این کاربر نمی‌تواند در پوشه "
    "{folder} بنویسد",
    "store.cannot_create.advice": "به این کاربر اجازه نوشتن در {folder} بدهید، یا path در بخش "
    "[store] پرونده {config} را به پوشه‌ای دیگر بدهید.",
    "store.unreadable": "پایگاه داده قابل استفاده نیست: {message}",
    "store.unreadable.advice": "بدون پایگاه داده هیچ خریدی ثبت نمی‌شود. آنچه پیام می‌گوید "
    "انجام دهید (فضای دیسک را آزاد کنید، دسترسی‌ها را درست کنید یا پرونده را از نسخه پشتیبان "
    "برگردانید).",
    "store.read_only": "این کاربر نمی‌تواند در {path} بنویسد: هیچ خریدی ثبت نمی‌شود",
    "store.read_only.advice": "به این کاربر اجازه نوشتن در {folder} و پرونده‌های پایگاه داده "
    "را بدهید.",
    "store.low_space": "روی دیسک {path} فقط {free} مگابایت جای خالی هست",
    "store.low_space.advice": "فضای دیسک را آزاد کنید: دیسک پر، فروش را متوقف می‌کند.",
    "store.problems": "{count} مورد نیازمند رسیدگی است",
    "store.problems.advice": "آنها را با `pos-client problems list --config {config}` ببینید.",
    "store.stale": "{count} خرید از {oldest} در انتظار ارسال مانده است",
    "store.stale.advice": "ارتباط با سامانه را بررسی کنید؛ فرمان "
    "`pos-client queue sync --config {config}` آنها را همین حالا می‌فرستد.",
    "store.stuck": "برای {count} خرید بیش از {hours} ساعت است که پاسخ نهایی از سامانه نرسیده است",
    "store.stuck.advice": "این خریدها را هرگز دوباره انجام ندهید. فرمان "
    "`pos-client queue sync --config {config}` را اجرا کنید؛ اگر ماندند، شناسه آنها را از "
    "`pos-client problems list --config {config}` به پشتیبانی بدهید.",
    # ledger
    "ledger.ok": "نشانی {url} پاسخ می‌دهد",
    "ledger.unreachable": "سامانه مرکزی در {url} در دسترس نیست ({why})",
    "ledger.unreachable.advice": "شبکه (کابل، وای‌فای، مودم) و ledger.url را در {config} "
    "بررسی کنید. تا آن زمان خریدهای در حد مجاز آفلاین انجام و بعدا ارسال می‌شوند.",
    "ledger.refused": "سامانه در {url} بررسی سلامت را رد کرد ({why})",
    "ledger.refused.advice": "ledger.url را در {config} بررسی کنید: باید نشانی سامانه برنامه باشد.",
    # clock
    "clock.ok": "ساعت این رایانه با ساعت سامانه یکی است (اختلاف کمتر از {seconds} ثانیه)",
    "clock.ahead": "ساعت این رایانه {minutes} دقیقه از ساعت سامانه جلوتر است",
    "clock.behind": "ساعت این رایانه {minutes} دقیقه از ساعت سامانه عقب‌تر است",
    "clock.off.advice": "تاریخ و ساعت را درست کنید (تنظیم خودکار ساعت را روشن کنید): کدهای "
    "QR و قواعد با این ساعت سنجیده می‌شوند.",
    # token
    "token.ok": "سامانه توکن پایانه {terminal} را پذیرفت",
    "token.refused": "سامانه توکن این پایانه را نپذیرفت ({code})",
    "token.refused.advice": "توکنی را که برای پایانه {terminal} صادر شده در ledger.token "
    "پرونده {config} بگذارید.",
    "token.forbidden": "سامانه به پایانه {terminal} اجازه نمی‌دهد ({code})",
    "token.forbidden.advice": "از پشتیبانی برنامه بپرسید که آیا این پایانه فعال است.",
    "token.unchecked": "بررسی نشد: {why}",
    "token.unreachable": "بررسی نشد: سامانه در دسترس نیست",
    "token.unchecked.advice": "وقتی سامانه پاسخ داد، دوباره عیب‌یابی را اجرا کنید.",
    # rules
    "rules.ok": "قواعد {version}، معتبر تا {valid_until}، دریافت‌شده {age} پیش",
    "rules.not_compared": " (با سامانه مقایسه نشد: در دسترس نیست)",
    "rules.none": "این پایانه هنوز قواعدی ندارد",
    "rules.none.advice": _SYNC_FA + " تا آن زمان تأیید آفلاین ممکن نیست.",
    "rules.expired": "اعتبار قواعد {version} این پایانه در {valid_until} تمام شده است: تا "
    "به‌روز شدن آنها تأیید آفلاین ممکن نیست",
    "rules.behind": "قواعد این پایانه {version} است و سامانه {remote} دارد",
    "rules.untrusted_cache": "امضای قواعد ذخیره‌شده در این پایانه درست نیست",
    "rules.sync.advice": _SYNC_FA,
    "rules.refused": "قواعد سامانه پذیرفته نشد: {why}",
    "rules.refused.advice": "بخش [ledger.trusted_keys] را در {config} بررسی کنید: کلید "
    "عمومی برنامه باید در آن باشد.",
    "rules.remote_expired": "اعتبار قواعد خود سامانه در {valid_until} تمام شده است",
    "rules.remote_expired.advice": "به پشتیبانی برنامه خبر دهید.",
    # catalog
    "catalog.ok": "فهرست کالاها {version} با {count} کالا",
    "catalog.none": "این پایانه هنوز فهرست کالاهای مجاز را ندارد",
    "catalog.behind": "فهرست کالاهای این پایانه {version} است و قواعد {expected} را نام می‌برد",
    "catalog.sync.advice": _SYNC_FA,
    "catalog.unknown": "معلوم نیست: پایگاه داده خوانده نمی‌شود",
    "catalog.unknown.advice": "نخست اشکال پایگاه داده را برطرف کنید.",
    # scanners
    "scanner.none": "بارکدخوان سریالی تنظیم نشده است؛ بارکدخوان حالت صفحه‌کلید مستقیم در صفحه "
    "فروش می‌نویسد و تنظیمی نمی‌خواهد",
    "scanner.ok": "{url}: متصل",
    "scanner.scans": "{url}: متصل؛ {count} اسکن در {seconds} ثانیه",
    "scanner.no_scans": "{url}: متصل است، اما در {seconds} ثانیه هیچ اسکنی نرسید",
    "scanner.no_scans.advice": "اگر در این مدت اسکن کردید: بارکدخوان را در حالت سریال "
    "(USB CDC) بگذارید نه صفحه‌کلید، و پسوند آن را با نشانی یکی کنید (suffix=cr، lf، crlf "
    "یا stx_etx).",
    "scanner.lost": "{url}: وصل شد و سپس قطع شد ({why})",
    "scanner.missing": "{url}: باز نمی‌شود ({why})",
    "scanner.missing.advice": "بارکدخوان را وصل و کابل آن را بررسی کنید؛ نام آن را در "
    "/dev/serial/by-id/ پیدا کنید و همان نشانی را در devices.scanners پرونده {config} "
    "بگذارید. اگر اجازه دسترسی نیست، این کاربر را به گروه dialout بیفزایید.",
    "scanner.timeout": "{url}: در {seconds} ثانیه باز نشد",
    # printer
    "printer.none": "چاپگر رسید تنظیم نشده است: رسید فقط روی صفحه نمایش داده می‌شود",
    "printer.none.advice": "devices.printer را در {config} تنظیم کنید (مثلا usb://0416:5011 "
    "یا tcp://192.0.2.10:9100).",
    "printer.ok": "{url}: آماده",
    "printer.paper_ok": "، کاغذ دارد",
    "printer.virtual": " (چاپگر مجازی: چیزی روی کاغذ چاپ نمی‌شود)",
    "printer.ok_unknown": "{url}: متصل (وضعیت کاغذ را گزارش نمی‌کند)",
    "printer.printed": "{url}: صفحه آزمایشی چاپ شد؛ ببینید متن فارسی درست و راست‌به‌چپ "
    "خوانده می‌شود و کاغذ بریده شده است",
    "printer.paper_low": "{url}: رول کاغذ رو به پایان است",
    "printer.paper_low.advice": "یک رول تازه آماده داشته باشید.",
    "printer.paper_out": "{url}: کاغذ تمام شده است",
    "printer.paper_out.advice": "رول تازه بگذارید؛ رسیدهای چاپ‌نشده را می‌توان دوباره چاپ کرد.",
    "printer.offline": "{url}: آفلاین است (درپوش باز است یا کاغذ تمام شده؟)",
    "printer.offline.advice": "درپوش را ببندید، کاغذ را بررسی کنید و چاپگر را خاموش و روشن کنید.",
    "printer.unreachable": "{url}: در دسترس نیست ({why})",
    "printer.unreachable.advice": "چاپگر را روشن و کابل یا شبکه آن را بررسی کنید. برای usb:// "
    "ببینید این کاربر اجازه استفاده از دستگاه را دارد؛ برای tcp:// نشانی و درگاه را.",
    "printer.failed": "{url}: چاپ صفحه آزمایشی انجام نشد ({why})",
    # scale
    "scale.ok": "{url}: وزن پایدار {grams} گرم",
    "scale.motion": "{url}: پاسخ می‌دهد، اما وزن پایدار نیست",
    "scale.motion.advice": "همه چیز را از روی کفه بردارید و دوباره عیب‌یابی را اجرا کنید.",
    "scale.over": "{url}: بیش از ظرفیت",
    "scale.under": "{url}: کمتر از صفر",
    "scale.zero.advice": "کفه را خالی کنید و ترازو را صفر کنید.",
    "scale.missing": "{url}: در دسترس نیست ({why})",
    "scale.missing.advice": "ترازو را روشن و کابل آن را بررسی کنید؛ باید با قرارداد Mettler "
    "Toledo 8217 کار کند (۹۶۰۰ باود، ۷ بیت داده، توازن زوج، مگر نشانی چیز دیگری بگوید).",
    # devices, any kind
    "device.bad_url": "{message}",
    "device.bad_url.advice": "{key} را در {config} درست کنید.",
    "device.busy": "{url}: برنامه دیگری از آن استفاده می‌کند (آیا صفحه فروش این پایانه باز است؟)",
    "device.busy.advice": "صفحه فروش این پایانه را ببندید و برای آزمودن دستگاه دوباره "
    "عیب‌یابی را اجرا کنید.",
    # a check that broke
    "internal": "این بررسی به‌طور پیش‌بینی‌نشده انجام نشد ({kind})",
    "internal.advice": "فرمان `pos-client --verbose doctor` را اجرا کنید و آنچه نشان می‌دهد را "
    "گزارش کنید.",
    # causes, said instead of the English of a driver or the network
    "cause.libusb": "چاپگرهای USB به کتابخانه libusb-1.0 نیاز دارند (`apt install libusb-1.0-0`)",
    "cause.disk_full": "دیسک پر است",
    "cause.malformed": "پاسخ به شکل قراردادی نیست",
    "cause.damaged": "پرونده آسیب دیده است",
    "cause.read_only": "فقط خواندنی است و نمی‌توان در آن نوشت",
    "cause.busy": "برنامه دیگری از آن استفاده می‌کند",
    "cause.gone": "جدا یا خاموش شد",
    "cause.permission": "این کاربر اجازه استفاده از آن را ندارد",
    "cause.missing": "پیدا نشد (جدا شده است؟)",
    "cause.tls": "گواهی TLS پذیرفته نشد",
    "cause.dns": "نام میزبان پیدا نشد",
    "cause.refused": "اتصال پذیرفته نشد",
    "cause.network": "شبکه به آن راه ندارد",
    "cause.timeout": "در زمان مقرر پاسخی نیامد",
    "cause.signature": "امضا درست نیست",
    "cause.bad_url": "نشانی دستگاه درست نیست (نوع یا گزینه آن شناخته نیست)",
    "cause.other": "خطای پیش‌بینی‌نشده؛ برای دیدن جزئیات با --verbose اجرا کنید",
    # ages
    "age.minutes": "{n} دقیقه",
    "age.hours": "{n} ساعت",
    "age.days": "{n} روز",
}

_TEXTS: Final[Mapping[str, Mapping[str, str]]] = {"en": _EN, "fa": _FA}


def number(value: int, lang: Lang) -> str:
    """A count for a sentence: thousands separated, Persian digits in Persian."""
    text = f"{value:,}"
    if lang == "fa":
        return to_persian_digits(text.replace(",", "٬"))
    return text


def say(lang: Lang, key: str, /, **values: object) -> str:
    """The sentence ``key`` in ``lang`` with its placeholders filled (ints as :func:`number`)."""
    template = _TEXTS[lang][key]
    filled = {k: number(v, lang) if type(v) is int else str(v) for k, v in values.items()}
    return template.format_map(filled)


def label(name: str, lang: Lang) -> str:
    """What the check ``name`` (``scanner:virtual://x`` → ``scanner``) is called on screen."""
    base = name.split(":", 1)[0]
    return LABELS[lang].get(base, base)


def placeholders(template: str) -> frozenset[str]:
    """The ``{names}`` a sentence takes (both languages must take the same)."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)
