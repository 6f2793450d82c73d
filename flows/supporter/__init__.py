"""The supporter's conversations: sign-up, consent keywords, the menu, events and RSVPs,
action alerts, data rights, linked identities, referrals and Telegram group chats.
The routing table (flows.core.routes) calls them."""
