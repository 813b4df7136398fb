"""The actor's own things beside the records: notifications, favourites, and the records
they worked on lately. Reached as ``svc.personal``; titles come through the record
service, so a record the actor can no longer read is simply left out."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from kehu.errors import NotFound


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


class Personal:
    def __init__(self, service):
        self.svc = service
        self.site = service.site
        self.t = service.tables
        self.me = service.actor.id

    # ------------------------------------------------------- notifications
    def notifications(self, limit: int) -> list[dict]:
        """My unread notifications, newest first, with ``text`` in the actor's language."""
        n = self.t.notification
        with self.site.reading() as conn:
            rows = [dict(r) for r in conn.execute(
                sa.select(n).where(n.c.user_id == self.me, n.c.read_at.is_(None))
                .order_by(n.c.at.desc(), n.c.id.desc()).limit(limit)).mappings()]
        for r in rows:
            r["text"] = r["text_zh"] if self.svc.lang == "zh" else r["text_en"]
        return rows

    def unread_count(self) -> int:
        n = self.t.notification
        with self.site.reading() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(n)
                                .where(n.c.user_id == self.me, n.c.read_at.is_(None))).scalar_one()

    def mark_read(self, notification_id: int) -> None:
        """Mark one of my notifications read; someone else's is the same as none (NotFound)."""
        n = self.t.notification
        with self.site.writing() as conn:
            mine = sa.and_(n.c.id == notification_id, n.c.user_id == self.me)
            if conn.execute(sa.select(n.c.id).where(mine)).first() is None:
                raise NotFound(self.svc.t("No such notification.", "没有这条通知。"))
            conn.execute(sa.update(n).where(mine, n.c.read_at.is_(None)).values(read_at=_now()))

    def mark_all_read(self) -> None:
        n = self.t.notification
        with self.site.writing() as conn:
            conn.execute(sa.update(n).where(n.c.user_id == self.me, n.c.read_at.is_(None)).values(read_at=_now()))

    # ---------------------------------------------------------- favourites
    def is_favourite(self, entity_name: str, record_id: int) -> bool:
        fav = self.t.favourite
        with self.site.reading() as conn:
            return conn.execute(sa.select(fav.c.record_id).where(
                fav.c.user_id == self.me, fav.c.entity == entity_name, fav.c.record_id == record_id)).first() is not None

    def set_favourite(self, entity_name: str, record_id: int, on: bool | None = None) -> dict:
        """Star (``on``), unstar, or (None) toggle a record the actor can read; returns the
        record (NotFound when they cannot read it: nothing is stored then)."""
        entity = self.svc.entity(entity_name)
        record = self.svc.get(entity.name, record_id)
        fav = self.t.favourite
        key = sa.and_(fav.c.user_id == self.me, fav.c.entity == entity.name, fav.c.record_id == record_id)
        try:
            with self.site.writing() as conn:
                starred = conn.execute(sa.select(fav.c.record_id).where(key)).first() is not None
                want = (not starred) if on is None else on
                if want and not starred:
                    conn.execute(sa.insert(fav).values(user_id=self.me, entity=entity.name, record_id=record_id,
                                                       created_at=_now()))
                elif starred and not want:
                    conn.execute(sa.delete(fav).where(key))
        except sa.exc.IntegrityError:  # a concurrent request starred it first: the outcome is the same
            pass
        return record

    def favourites(self, limit: int) -> list[tuple[str, int, str, dt.datetime]]:
        """(entity, record id, title, starred at) of my favourites I can still read, latest first."""
        fav = self.t.favourite
        with self.site.reading() as conn:
            rows = conn.execute(sa.select(fav.c.entity, fav.c.record_id, fav.c.created_at)
                                .where(fav.c.user_id == self.me)
                                .order_by(fav.c.created_at.desc(), fav.c.record_id.desc()).limit(limit * 4)).all()
        by_entity: dict[str, list[int]] = {}
        for name, rid, _at in rows:
            by_entity.setdefault(name, []).append(rid)
        titles = {name: self.svc.visible_titles(name, ids) for name, ids in by_entity.items()
                  if name in self.svc.meta.entities}
        return [(name, rid, titles[name][rid], at) for name, rid, at in rows if rid in titles.get(name, {})][:limit]

    # -------------------------------------------------------------- recent
    def recent(self, entity_name: str, limit: int) -> list[tuple[int, str, dt.datetime]]:
        """(record id, title, last change) of records of one entity I changed lately (from the
        field history) and can still read, latest first."""
        entity = self.svc.entity(entity_name)
        hist = self.t.history
        last = sa.func.max(hist.c.at).label("last")
        stmt = (sa.select(hist.c.record_id, last)
                .where(hist.c.user_id == self.me, hist.c.entity == entity.name)
                .group_by(hist.c.record_id).order_by(last.desc(), hist.c.record_id.desc()).limit(limit * 3))
        with self.site.reading() as conn:
            rows = conn.execute(stmt).all()
        titles = self.svc.visible_titles(entity.name, [rid for rid, _at in rows])
        return [(rid, titles[rid], at) for rid, at in rows if rid in titles][:limit]
