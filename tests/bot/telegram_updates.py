"""Bot API update payloads the Telegram tests build on (the project's own fixtures)."""
from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(5000)
USER = 4242
GROUP = -1001234567890


def _user(user_id: int = USER) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Ada", "language_code": "en"}


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "Ada"}
    return {"id": chat_id, "type": "supergroup", "title": "Leeds supporters"}


def message(text: str | None = None, *, chat_id: int = USER, user_id: int = USER, **fields: Any) -> dict[str, Any]:
    msg = {"message_id": next(_ids), "date": 1700000000, "chat": _chat(chat_id), "from": _user(user_id), **fields}
    if text is not None:
        msg["text"] = text
        if text.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": next(_ids), "message": msg}


def contact(phone: str, *, user_id: int = USER) -> dict[str, Any]:
    return message(contact={"phone_number": phone, "first_name": "Ada", "user_id": user_id}, user_id=user_id,
                   chat_id=user_id)


def callback(data: str, sent: dict[str, Any] | None = None, *, user_id: int = USER) -> dict[str, Any]:
    """A button press on `sent` (a message as the bot sent it) or on a stand-in message."""
    msg = sent or {"message_id": 1, "date": 1700000000, "chat": _chat(user_id), "text": "Pick one"}
    return {"update_id": next(_ids), "callback_query": {
        "id": str(next(_ids)), "from": _user(user_id), "chat_instance": "42", "data": data, "message": msg,
    }}


def _member(status: str, user: dict[str, Any]) -> dict[str, Any]:
    extra = {"until_date": 0} if status == "kicked" else {}
    if status == "administrator":
        extra = {"can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
                 "can_delete_messages": True, "can_manage_video_chats": True, "can_restrict_members": True,
                 "can_promote_members": False, "can_change_info": True, "can_invite_users": True,
                 "can_post_stories": False, "can_edit_stories": False, "can_delete_stories": False}
    return {"status": status, "user": user, **extra}


BOT = {"id": 999, "is_bot": True, "first_name": "Muster", "username": "muster_test_bot"}


def my_chat_member(old: str, new: str, *, chat_id: int = USER, by: int = USER) -> dict[str, Any]:
    return {"update_id": next(_ids), "my_chat_member": {
        "chat": _chat(chat_id), "from": _user(by), "date": 1700000000,
        "old_chat_member": _member(old, BOT), "new_chat_member": _member(new, BOT),
    }}


def chat_member(old: str, new: str, *, user_id: int = USER, chat_id: int = GROUP) -> dict[str, Any]:
    return {"update_id": next(_ids), "chat_member": {
        "chat": _chat(chat_id), "from": _user(user_id), "date": 1700000000,
        "old_chat_member": _member(old, _user(user_id)), "new_chat_member": _member(new, _user(user_id)),
    }}
