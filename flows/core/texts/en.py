"""English texts. Keys are dotted by flow; {names} are filled in by flows.core.texts.t()."""
from __future__ import annotations

TEXTS: dict[str, str] = {
    # engine
    "engine.sorry": "Sorry, something went wrong on our side. Please try again in a minute.",
    "engine.throttled": "You're sending messages faster than I can answer, so I'll pause for a minute. Reply STOP at any time to stop messages.",
    # menu
    "menu.title": "What would you like to do?",
    "menu.join": "Join",
    "menu.events": "Events near me",
    "menu.myevents": "My events",
    "menu.mydata": "My data",
    "menu.delete": "Delete my data",
    "menu.help": "Help",
    "menu.unknown": "Sorry, I didn't understand that.",
    "help.text": (
        "This is {movement}. We send news, events and action alerts to supporters who ask for them.\n"
        "Reply MENU for options, EVENTS for events near you, MYEVENTS for yours, MYDATA to see what we hold, "
        "DELETE to erase it. STOP stops messages; START starts them again.\n"
        "Privacy notice: {privacy_url}"
    ),
    # language (CYMRAEG / ENGLISH)
    "language.chosen": "OK, I'll write to you in English from now on. Send CYMRAEG at any time for Welsh (Cymraeg).",
    # media (pictures and attachments)
    "media.text_only": (
        "Sorry, I can only read text, not pictures or attachments. "
        "Please reply in words, or send MENU for options."
    ),
    # telegram (channel buttons)
    "telegram.share_contact": "📱 Share my phone number",
    "telegram.share_contact_prompt": "Or tap the button below to share your phone number.",
    # tg_groups (Telegram group chats)
    "tg_groups.hello": (
        "Hello! An organiser can link this chat to a local group with /linkgroup <group name> "
        "(they must be an admin here). Anyone can sign up with /join."
    ),
    "tg_groups.join": "Get {movement} news, events and action alerts: tap below to sign up in a private chat.",
    "tg_groups.join_button": "Sign up",
    "tg_groups.open_chat": "Open a private chat",
    "tg_groups.private_only": "Please talk to me in a private chat: tap below.",
    "tg_groups.welcome": "Welcome, {name}! Tap below to get {movement} news and events for this group.",
    "tg_groups.link_usage": "To link this chat, type /linkgroup followed by the local group's name, e.g. /linkgroup Leeds.",
    "tg_groups.link_unknown": "I don't know a local group called \"{name}\". Check the name and try again.",
    "tg_groups.link_not_organiser": "Only an organiser of {group} can link this chat to it.",
    "tg_groups.link_taken": "This chat is already linked to another local group; only its organisers or an admin can move it.",
    "tg_groups.link_not_admin": "Only an admin of this chat can link it. Ask an admin to promote you, then try again.",
    "tg_groups.linked": "This chat is now linked to {group}. Announcements for {group} will be posted here.",
    # console (organiser commands)
    "console.help_title": "Organiser commands:",
    "console.signin_link": "Your sign-in link for the organisers' console: {link}\nOr type the code {code}. "
                           "It works once, for {minutes} minutes. If you did not ask to sign in, ignore this.",
    "console.help_desc": "this list",
    "console.help_footer": "Supporters' keywords (MENU, STOP, MYDATA, …) work for you too.",
    "console.refused": "Sorry, {command} is for organisers only. Reply MENU to see what you can do.",
    # events (supporters)
    "events.none": "There are no upcoming events near you yet. We'll let you know when there are.",
    "events.list": "Upcoming events. Pick one to see the details and RSVP:",
    "events.details": "{title}\nWhen: {when}\nWhere: {place}",
    "events.place_unknown": "to be confirmed",
    "events.places_left": "Places left: {left}",
    "events.full_note": "This event is full, but you can join the waitlist.",
    "events.you_said": "Your answer so far: {status}.",
    "events.status_going": "going",
    "events.status_maybe": "maybe",
    "events.status_declined": "can't go",
    "events.status_waitlisted": "on the waitlist",
    "events.going_button": "Going",
    "events.maybe_button": "Maybe",
    "events.cant_button": "Can't go",
    "events.going": "You're going to {title}!\nWhen: {when}\nWhere: {place}",
    "events.promoted": "Good news: a place came up and you're now going to {title}.\nWhen: {when}\nWhere: {place}",
    "events.calendar_attached": "The calendar file is attached.",
    "events.calendar_link": "Add it to your calendar: {url}",
    "events.change_hint": "Plans change? Reply MYEVENTS to change or cancel.",
    "events.maybe": "Thanks, we've put you down as a maybe for {title} on {when}. Reply MYEVENTS to change it.",
    "events.declined": "Thanks for letting us know you can't go to {title}. Reply EVENTS to see other events.",
    "events.full": "Sorry, {title} is full. Would you like to join the waitlist? We'll tell you at once if a place comes up.",
    "events.waitlist_button": "Join the waitlist",
    "events.no_thanks_button": "No thanks",
    "events.no_thanks": "OK. Reply EVENTS to see other events.",
    "events.waitlisted": "You're on the waitlist for {title}. We'll message you as soon as a place comes up.",
    "events.gone": "Sorry, that event isn't available any more. Reply EVENTS to see what's coming up.",
    "events.cancelled_already": "Sorry, {title} has been cancelled. Reply EVENTS to see what's coming up.",
    "events.started": "{title} has already started, so RSVPs are closed. Reply EVENTS to see what's coming up.",
    "events.mine_none": "You haven't said you're coming to any upcoming events. Reply EVENTS to see what's on.",
    "events.mine": "Your events. Pick one to change or cancel your answer:",
    "events.reminder": "Reminder: {title}\nWhen: {when}\nWhere: {place}\nCan you still make it?",
    "events.changed": "Change to {title}. It is now:\nWhen: {when}\nWhere: {place}\nCan you still make it?",
    "events.cancelled": "Sorry, {title} on {when} has been cancelled. Reply EVENTS to see other events.",
    "events.did_you_make_it": "Did you make it to {title}?",
    "events.attended_yes_button": "Yes",
    "events.attended_no_button": "No",
    "events.attended_yes": "Thanks for coming to {title}!",
    "events.attended_no": "Thanks for letting us know. Hope to see you at the next one: reply EVENTS to see what's on.",
    "events.announce": "New event: {title}\nWhen: {when}\nWhere: {place}\nAre you coming?",
    "events.announce_chat": "New event: {title}\nWhen: {when}\nWhere: {place}\nTo RSVP, message @{bot} and send EVENTS.",
    # events (organisers)
    "events.cmd_newevent": "create an event, step by step",
    "events.cmd_events": "your events with RSVP counts",
    "events.new_title": "New event. What is it called? (e.g. Housing rally)",
    "events.new_title_again": "Please send the event's name in words, up to {limit} characters (e.g. Housing rally).",
    "events.new_when": "When does it start? e.g. Sat 14:00, 3 Oct 7pm, tomorrow 18:30 or 2026-12-05 19:00.",
    "events.new_when_unreadable": "Sorry, I couldn't read that as a date and time. Try e.g. Sat 14:00, 3 Oct 7pm or 2026-12-05 19:00.",
    "events.new_when_no_time": "Please add a start time too, e.g. Sat 14:00 or 3 Oct 7pm.",
    "events.new_when_past": "{when} is in the past. Please send a date and time still to come, e.g. Sat 14:00.",
    "events.new_when_confirm": "That's {when}. Is that right?",
    "events.new_when_yes_no": "Please answer yes or no: is that the right date and time?",
    "events.yes": "Yes",
    "events.no_retype": "No, retype it",
    "events.new_place": "Where is it? Send the venue and address, or ONLINE for an online event.",
    "events.new_place_too_long": "That's too long for a place: please send the venue and address in up to {limit} characters (e.g. Leeds Civic Hall, LS1 1UR).",
    "events.new_link": "Send the link people will use to join (https://…), or SKIP to add it later.",
    "events.new_link_again": "Please send a link starting with https://, or SKIP.",
    "events.new_capacity": "How many people can come? Send a number, or NONE for no limit.",
    "events.new_capacity_again": "Please send a whole number such as 40, or NONE for no limit.",
    "events.national": "National (everyone)",
    "events.no_limit": "no limit",
    "events.online": "Online",
    "events.new_group": "Which local group is it for?",
    "events.new_group_unknown": "I don't know a local group called \"{name}\". Pick one of these:",
    "events.new_scope": "Sorry, you can only create events for {groups}.",
    "events.new_saved": "Saved as draft #{id}: {title}\nWhen: {when}\nWhere: {place}\nPlaces: {capacity}\nFor: {group}\nPublish it now?",
    "events.publish_button": "Publish now",
    "events.draft_button": "Keep as draft",
    "events.kept_draft": "Kept as draft #{id}. Send /events to publish it later.",
    "events.publish_or_draft": "Please choose: publish now, or keep as draft.",
    "events.admin_none": "No upcoming events. Send /newevent to create one.",
    "events.admin_list": "Your events:",
    "events.admin_line": "#{id} {label} [{status}] — {going}{capacity} going, {maybe} maybe, {waitlisted} waitlisted",
    "events.state_draft": "draft",
    "events.state_confirmed": "published",
    "events.state_cancelled": "cancelled",
    "events.publish_id_button": "Publish #{id}",
    "events.admin_cancelled": "Event #{id} is cancelled and can't be published.",
    "events.admin_not_published": "Event #{id} isn't published yet.",
    "events.published": "Published #{id} {title}. Announce it to {audience}?{wait}",
    "events.announce_button": "Announce",
    "events.not_now_button": "Not now",
    "events.already_announced": "Event #{id} has already been announced.",
    "events.announced": "Announcement queued for {audience}.{wait}",
    "events.sms_wait": "\n{wait}.",
    "events.not_announced": "OK, not announced. Event #{id} is published: supporters see it under EVENTS.",
    "events.cancel_id_button": "Cancel #{id}",
    "events.cancel_confirm": "Cancel #{id} {title}? Everyone going, maybe or on the waitlist will be told.",
    "events.cancel_yes_button": "Yes, cancel it",
    "events.cancel_no_button": "No, keep it",
    "events.cancelled_admin": "Cancelled #{id} {title}. Everyone who said going, maybe or joined the waitlist will be told.",
    "events.admin_cancelled_already": "Event #{id} is already cancelled.",
    "events.kept": "OK, #{id} stays on.",
    "events.moved_to_waitlist": "Sorry: {title} on {when} has fewer places now, so you're at the top of the waitlist. We'll message you as soon as a place comes up.",
    "events.attendees_id_button": "Attendees #{id}",
    "events.places_id_button": "Places #{id}",
    "events.attendees_head": "#{id} {title}\n{when} [{status}]\n{going}{capacity} going, {maybe} maybe, {waitlisted} waitlisted, {attended} attended",
    "events.attendees_going": "Going: {names}",
    "events.attendees_maybe": "Maybe: {names}",
    "events.attendees_waitlisted": "Waitlist: {names}",
    "events.attendees_declined": "Can't go: {names}",
    "events.attendees_none": "No RSVPs yet.",
    "events.attendees_more": "and {n} more",
    "events.no_name": "(no name)",
    "events.web_link": "On the web: {url}",
    "events.places_ask": "How many places for #{id} {title}? {going} going now. Send a number, or NONE for no limit.",
    "events.places_again": "Please send a whole number such as 40, or NONE for no limit.",
    "events.places_question": "{people} going to #{id} {title}, more than {places}. Keep everyone going (the limit then only stops new RSVPs), or move the {extra} who said going last to the top of the waitlist (they are told)?",
    "events.places_keep_button": "Keep everyone going",
    "events.places_waitlist_button": "Move {extra} to the waitlist",
    "events.places_saved": "Places for #{id} {title}: {capacity}.",
    "events.places_kept": "Everyone going keeps their place ({kept} more than the places); new RSVPs join the waitlist.",
    "events.places_moved": "{moved} moved to the top of the waitlist and told.",
    "events.places_promoted": "{promoted} moved up from the waitlist and told.",
    # identity (a phone number shared in Telegram links the supporter's channels)
    "identity.ask_phone": "If you'd like texts too, or already get them from us, tap below to share your phone number.",
    "identity.not_yours": (
        "Thanks, but I can only link your own phone number. "
        "Please use the \"Share my phone number\" button rather than sending someone else's contact."
    ),
    "identity.bad_number": "Sorry, I couldn't read that phone number. Please try the \"Share my phone number\" button again.",
    "identity.already_linked": "That number is already linked to your account. Nothing to change.",
    "identity.linked": "Thanks! {phone} is now linked to your account.",
    "identity.merged": (
        "Thanks! {phone} already got our texts, so I've joined the two together: "
        "one record, your settings for texts and Telegram kept as they were."
    ),
    "identity.conflict": (
        "Thanks. I couldn't link that number automatically because it's already linked to other details. "
        "Nothing has changed; an organiser can sort it out if you ask."
    ),
    # referrals
    "referrals.invite": "Invite friends to join: {link}",
    "referrals.invite_sms": "Invite friends: ask them to text {link} to this number.",
    "referrals.count": "Friends who joined with your code so far: {count}.",
    # privacy (MYDATA, DELETE)
    "privacy.mydata_title": "Here is everything {movement} holds about you:",
    "privacy.none": "(none)",
    "privacy.field.name": "Name: {value}",
    "privacy.field.phone": "Phone: {value}",
    "privacy.field.telegram": "Telegram id: {value}",
    "privacy.field.email": "Email: {value}",
    "privacy.field.postcode": "Postcode: {value}",
    "privacy.field.group": "Local group: {value}",
    "privacy.field.language": "Language: {value} (send CYMRAEG or ENGLISH to change it)",
    "privacy.field.interests": "Interests: {value}",
    "privacy.field.consent": "{channel}: {status}",
    "privacy.field.consent_since": "{channel}: {status} (since {since})",
    "privacy.field.referral_code": "Your referral code: {value}",
    "privacy.field.rsvps": "Events you replied to: {value}",
    "privacy.rsvp": "{title} {date} ({answer})",
    "privacy.rsvp.going": "going",
    "privacy.rsvp.maybe": "maybe",
    "privacy.rsvp.declined": "not going",
    "privacy.rsvp.waitlisted": "on the waiting list",
    "privacy.channel.sms": "Text messages",
    "privacy.channel.telegram": "Telegram messages",
    "privacy.status.opted_in": "you agreed to receive them",
    "privacy.status.opted_out": "you stopped them",
    "privacy.status.none": "not asked yet",
    "privacy.mydata_footer": "Send DELETE to erase all of this. Privacy notice: {privacy_url}",
    "privacy.mydata_document": "The attached file has the full record, including every consent change.",
    "privacy.delete_confirm": (
        "This erases everything {movement} holds about you: your name, phone number, email, postcode, "
        "interests and messages. It can't be undone, and you'll get no more messages from us. "
        "Erase everything?"
    ),
    "privacy.delete_yes": "Yes, erase everything",
    "privacy.delete_no": "No, keep my details",
    "privacy.delete_reprompt": "Please choose: 1 to erase everything, or 2 to keep your details.",
    "privacy.delete_kept": "OK, nothing has been erased. Reply MENU for options.",
    "privacy.delete_unclear": "I didn't get a clear yes, so nothing has been erased. Send DELETE again whenever you like.",
    "privacy.deleted": (
        "Done: your details have been erased and {movement} won't message you again. "
        "If you ever want to come back, send JOIN. Take care!"
    ),
    # signup (the sign-up flow)
    "signup.intro": "Welcome to {movement}! A few quick questions (reply MENU at any time to leave).",
    "signup.ask_name": "What's your first name?",
    "signup.bad_name": "Sorry, I need just your first name, in letters. For example: Sam",
    "signup.ask_postcode": "Thanks, {name}. What's your postcode? It finds your local group. Reply SKIP to leave it out.",
    "signup.bad_postcode": "Sorry, that doesn't look like a UK postcode. Please send it like this: M1 1AE (or reply SKIP).",
    "signup.group_found": "Your local group is {group}.",
    "signup.no_group": "No local group covers {area} yet. We've noted your area and will tell you when one starts.",
    # a postcode in Wales: greeted in Welsh and English, and asked which to carry on in
    "signup.greet_wales": "Thanks, {name}.",
    "signup.ask_language.sms": "Would you like to carry on in Welsh or in English? Reply CYMRAEG or ENGLISH.",
    "signup.ask_language.telegram": "Would you like to carry on in Welsh or in English? Tap one below, or send CYMRAEG or ENGLISH.",
    "groups.started_near_you": "A local group has started near you: {group}. You'll hear about its events and news here. Reply STOP to stop messages.",
    "signup.ask_interests.sms": "Which of these do you care about? Reply SKIP to leave it out.",
    "signup.ask_interests.telegram": "Which of these do you care about? Tap as many as you like, then Done.",
    "signup.bad_interests.sms": "Sorry, I need the numbers of the topics from the list, e.g. 1 3 (or reply SKIP).",
    "signup.bad_interests.telegram": "Please tap the topics you care about, then Done (or tap Done to skip).",
    "signup.done": "Done",
    "signup.interest.housing": "Housing and rents",
    "signup.interest.jobs_pay": "Jobs and pay",
    "signup.interest.benefits_disability": "Benefits and disability",
    "signup.interest.voter_registration": "Voter registration",
    "signup.interest.elections": "Elections",
    "signup.ask_email": "What's your email address? We'll only use it for {movement} news. Reply SKIP to leave it out.",
    "signup.bad_email": "Sorry, that doesn't look like an email address. Please send it like this: sam@example.org (or reply SKIP).",
    "signup.consent.sms": (
        "Last question: may {movement} send you campaign texts (news, events and action alerts) on this number? "
        "You can reply STOP at any time to stop them."
    ),
    "signup.consent.telegram": (
        "Last question: may {movement} send you campaign messages (news, events and action alerts) here on Telegram? "
        "You can send /stop at any time to stop them."
    ),
    "signup.yes": "Yes",
    "signup.no": "No",
    "signup.bad_consent": "Please answer YES or NO. For example: YES",
    "signup.offer_help": "Stuck? Reply HELP for help, or MENU to leave.",
    "signup.welcome": "You're signed up, {name}. Welcome to {movement}!",
    "signup.welcome_group": "Your local group is {group}.",
    "signup.welcome_no_group": "No local group covers your area yet; we'll tell you when one starts.",
    "signup.welcome_no_postcode": "To find your local group later, send JOIN and update your details with your postcode.",
    "signup.welcome_consent_no": "We won't send you campaign messages here. Send JOIN again if you change your mind.",
    "signup.welcome_event": "Next event: {event}. Send EVENTS to see it and RSVP.",
    "signup.welcome_referral": "Bring a friend: {link}",
    "signup.welcome_menu": "Reply MENU for options.",
    "signup.updated": "Thanks, {name}. Your details are updated.",
    "signup.already": "You're already signed up, {name}. Would you like to update your details?",
    "signup.update_button": "Update my details",
    "signup.friend": "friend",
    # consent (opt-out, opt-in and help keywords)
    "consent.stopped.sms": "You won't get any more texts from {movement}. Reply START to get them again.",
    "consent.stopped.telegram": "You won't get any more messages from {movement} here. Send /start to get them again.",
    "consent.started.sms": "Welcome back! You'll get {movement} texts again. Reply STOP at any time to stop them.",
    "consent.started.telegram": "Welcome back! You'll get {movement} messages here again. Send /stop at any time to stop them.",
    "consent.already_in": "You're already getting {movement} messages here. Reply STOP at any time to stop them.",
    "consent.cancelled": "OK, you've left that. Reply MENU for options.",
    "consent.stop_question": "Reply STOP to stop all messages from {movement}. Nothing has changed yet.",
    # choices rendered as text (SMS and the terminal chat)
    "render.reply_one": "Reply with a number:",
    "render.reply_many": "Reply with one or more numbers, e.g. 1 3:",
    # broadcasts and action alerts (organiser console; the first four reach supporters)
    "broadcasts.sms_stop": "Reply STOP to stop.",
    "broadcasts.alert_cta": "Action: {cta}",
    "broadcasts.alert_deadline": "By: {deadline}",
    "broadcasts.alert_reply": "Reply DONE when you have done it, or CANT if you can't.",
    "broadcasts.cmd_broadcast": "send a broadcast (also: list, preview N, report N, cancel N, followup N)",
    "broadcasts.cmd_alert": "send an action alert with a call to action and deadline",
    "broadcasts.ask_body": (
        "What should the message say? You can use {first} and {group}, e.g. "
        "'Hi {first}, we're canvassing on Saturday.'"
    ),
    "broadcasts.ask_cta": (
        "What should people do? Add a link at the end if there is one, e.g. "
        "'Register to vote https://www.gov.uk/register-to-vote'"
    ),
    "broadcasts.ask_deadline": "By when? e.g. 'Fri 18:00' or '2026-11-20 23:59', or SKIP for no deadline.",
    "broadcasts.bad_deadline": "I couldn't read that as a future time. Try 'Fri 18:00' or '2026-11-20 23:59', or SKIP.",
    "broadcasts.ask_audience": (
        "Who should get it? Choose below, or type filters such as: group:Manchester Central interest:housing "
        "channel:sms event:12:going alert:5:not_yet chats (add linked group chats) every (every channel)."
    ),
    "broadcasts.audience_everyone": "Everyone",
    "broadcasts.audience_all_mine": "All my groups",
    "broadcasts.preview_title": "Preview of {kind} #{id}",
    "broadcasts.preview_counts": "Recipients: {sms} by SMS, {telegram} on Telegram, {chats} ({total} in all)",
    "broadcasts.preview_sms": "SMS: {encodings}, {segments} in all ({per}), about £{cost}. Time to send: {seconds}.",
    "broadcasts.preview_no_sms": "No SMS. Time to send: {seconds}.",
    "broadcasts.preview_encodings_mixed": "{gsm} GSM-7 and {ucs} UCS-2 (a name or character outside GSM-7)",
    "broadcasts.preview_per_one": "{segments} each",
    "broadcasts.preview_per_mixed": "up to {segments} each",
    "broadcasts.preview_changes": "Tidied for SMS: {changes}",
    "broadcasts.preview_quiet": "Quiet hours: the SMS messages will wait until {time}.",
    "broadcasts.preview_sample": "Sample:",
    "broadcasts.send_now": "Send now",
    "broadcasts.send_later": "Schedule",
    "broadcasts.send_urgent": "Urgent: SMS now",
    "broadcasts.discard": "Discard",
    "broadcasts.discarded": "Discarded draft #{id}.",
    "broadcasts.use_buttons": "Please choose one of the options above.",
    "broadcasts.ask_when": (
        "When should it go? e.g. 'tomorrow 18:00', 'Sat 10:00', '2026-11-05 18:00', "
        "or 'daily 18:00' / 'weekly Mon 09:00' to repeat."
    ),
    "broadcasts.bad_when": "I couldn't read that as a future time. Try 'tomorrow 18:00' or '2026-11-05 18:00'.",
    "broadcasts.confirm_when": "It will go on {time}{repeat}. Schedule it?",
    "broadcasts.repeat_daily": ", then every day at that time",
    "broadcasts.repeat_weekly": ", then every week at that time",
    "broadcasts.yes_schedule": "Yes, schedule it",
    "broadcasts.ask_urgent": (
        "Urgent sends the SMS messages now, during quiet hours, waking people up. "
        "Type URGENT to confirm, anything else to stop."
    ),
    "broadcasts.urgent_declined": "Not sent. The draft is kept: /broadcast preview N to look again.",
    "broadcasts.ask_count": "This goes to {total} people. To confirm, type the number {total}.",
    "broadcasts.scheduled": "{Kind} #{id} is scheduled for {time}. /broadcast cancel {id} to stop it.",
    "broadcasts.started": "{Kind} #{id} is on its way ({total}). I'll tell you how it goes; /broadcast cancel {id} stops it.",
    "broadcasts.cancelled": "{Kind} #{id} cancelled: {dropped} not yet sent will not go.",
    "broadcasts.none": "No broadcasts yet.",
    "broadcasts.not_found": "Which broadcast? e.g. /broadcast {command} 12",
    "broadcasts.not_draft": "That broadcast has already been confirmed or discarded.",
    "broadcasts.quiet_hold": "Broadcast #{id}: quiet hours have begun; the SMS not yet sent waits until {time}.",
    "broadcasts.quiet_wait": "Broadcast #{id}: Telegram messages are going now; SMS waits for quiet hours to end at {time}.",
    "broadcasts.missed": "Broadcast #{id} was due at {time} but the service was down for too long, so it was not sent.",
    "broadcasts.progress": "Broadcast #{id}: {done} of {total} messages done.",
    "broadcasts.report_title": "Report for {kind} #{id} ({status})",
    "broadcasts.report_counts": (
        "Recipients: {recipients} (+{chats} group chats). Sent: {sent}, delivered: {delivered}, "
        "unknown: {unknown}, waiting: {pending}, cancelled: {cancelled}."
    ),
    "broadcasts.report_failed": "Failed: {failed} ({codes})",
    "broadcasts.report_failure": "  {code}, {short}: {action}",
    "broadcasts.report_unknown": "Unknown: {unknown} may or may not have arrived (a crash or a provider that did not answer). Resend them only if a second copy is acceptable: muster broadcast resend-unknown {id}, or the report page in the web console.",
    "broadcasts.report_people": "Opt-outs within 24 hours: {opt_outs}. Replies: {replies}.",
    "broadcasts.report_alert": "Done: {done} of {recipients}; can't: {cant}.",
    "broadcasts.report_group": "  {group}: {done}/{people} done ({share}), {cant} can't",
    # a broadcast's versions in other languages (MUSTER_LANGUAGES)
    "broadcasts.placeholder_first_name": "friend",
    "broadcasts.placeholder_group": "your local group",
    "broadcasts.ucs2_hint": (
        "ŵ and ŷ are outside GSM-7: a text with them goes as UCS-2, 70 characters a segment (67 when split) "
        "instead of 160, so a Welsh text often costs more."
    ),
    "broadcasts.ask_body_in": (
        "Now the {language} version, for supporters who chose {language}; SKIP and they get the English. {hint}"
    ),
    "broadcasts.ask_cta_in": "And the call to action in {language}? SKIP and they get the English one.",
    "broadcasts.preview_language": "{language}: {sms} by SMS, {telegram} on Telegram, {chats}. {figures}",
    "broadcasts.preview_language_sms": "SMS: {encodings}, {segments} ({per}), about £{cost}.",
    "broadcasts.preview_language_no_sms": "No SMS.",
    "broadcasts.preview_together": "{languages} in one message (language unknown)",
    "broadcasts.preview_ucs2": (
        "The {language} version has {chars}, outside GSM-7: it goes as UCS-2, 70 characters a segment "
        "(67 when split) instead of 160, so it often costs more."
    ),
    "broadcasts.preview_sample_in": "Sample in {language}:",
    # action alerts, supporter side
    "alerts.done_button": "Done",
    "alerts.cant_button": "Can't",
    "alerts.thanks_done": "Thank you! That makes a real difference.",
    "alerts.thanks_cant": "Thanks for letting us know. There will be other ways to help.",
    "alerts.none": "Thanks! There's no action alert waiting for an answer from you right now.",
    # the web's double opt-in (flows/supporter/web_signup.py): the confirmation text and its answers
    "web.confirm": "{movement}: reply YES to confirm {what}. {scope} Not you? Reply NO.",
    "web.confirm_rsvp": "your place at {title}, {when}",
    "web.confirm_join": "you're joining {movement}",
    "web.confirm_campaign": "Your YES also means you agree to campaign texts from us (reply STOP at any time).",
    "web.confirm_event_only": "We'll only text you about this event.",
    "web.confirm_no_campaign": "We won't send you campaign texts unless you ask for them.",
    "web.campaign_box": "Yes, send me text messages about {movement}'s campaigns and events near me. I can reply STOP at any time to stop them.",
    "web.address": "The full address (for people going): {address}",
    "web.event_only": "You'll only get messages about this event: its reminders and any changes. Reply STOP to stop them.",
    "web.already_going": "You're already going to {title}. Reply MYEVENTS to change your answer.",
    "web.already_waitlisted": "You're already on the waitlist for {title}. We'll message you as soon as a place comes up.",
    "web.joined_campaign": "We'll text you about campaigns and events near you. Reply EVENTS to see what's on, or STOP at any time.",
    "web.joined_no_campaign": "We won't send you campaign texts. Reply EVENTS to see what's on.",
    "web.declined": "Thanks for letting us know. Nothing has been changed.",
    "web.unclear": "Sorry, I didn't catch that. Reply YES to confirm, or NO if it wasn't you.",
    "web.unclear_end": "No problem: nothing has been changed. You can sign up again on our website at any time.",
    # counted words, for texts.plural: one form per CLDR plural category of the language
    "words.supporter.one": "{n} supporter",
    "words.supporter.other": "{n} supporters",
    "words.person.one": "{n} person",
    "words.person.other": "{n} people",
    "words.message.one": "{n} message",
    "words.message.other": "{n} messages",
    "words.segment.one": "{n} segment",
    "words.segment.other": "{n} segments",
    "words.sms_waits.one": "{n} SMS waits",
    "words.sms_waits.other": "{n} SMS wait",
    "words.role.one": "{n} organiser role",
    "words.role.other": "{n} organiser roles",
    "words.event.one": "{n} event",
    "words.event.other": "{n} events",
    "words.chat.one": "{n} group chat",
    "words.chat.other": "{n} group chats",
}
