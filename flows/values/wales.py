"""Whether a postcode is (or may well be) in Wales: a sign-up from one is asked its language first.

Postcode areas follow the Royal Mail's delivery offices, not the border, so this is by area and,
where an area straddles the border, by district (the outward code):

- wholly in Wales: CF (Cardiff), LD (Llandrindod Wells), LL (Llandudno), NP (Newport), SA (Swansea);
- SY (Shrewsbury): SY15 to SY25 are in Wales (Montgomery, Newtown, Welshpool, Machynlleth,
  Aberystwyth, Tregaron…); SY1 to SY9 and SY11 to SY14 are in England; SY10 (Oswestry) reaches
  into Wales (Llanrhaeadr-ym-Mochnant, Llansilin) and is counted in;
- CH (Chester): CH5 to CH8 (Deeside, Flint, Mold, Holywell) are in Wales; CH4 straddles the
  border (Broughton and Saltney in Wales, Handbridge in Chester) and is counted in; CH1 to CH3 and
  the Wirral's CH41 to CH66 are in England;
- HR (Hereford): only HR3 reaches into Wales (Hay-on-Wye, Clyro) and is counted in.

A district that straddles the border is counted in because the two mistakes do not cost the same:
asking someone in Chester which language they would like costs them one reply, while not asking
someone in Saltney breaks the promise to ask every Welsh supporter at first contact. The few
addresses in England under NP (near Monmouth and Chepstow) are taken with the rest of NP.
"""
from __future__ import annotations

from flows.values.postcodes import Postcode

AREAS = frozenset({"CF", "LD", "LL", "NP", "SA"})
DISTRICTS = frozenset({"CH4", "CH5", "CH6", "CH7", "CH8", "HR3", "SY10", *(f"SY{n}" for n in range(15, 26))})


def in_wales(postcode: Postcode) -> bool:
    """'CF10 1AA', 'SY23 1AA', 'CH4 0DB' → True; 'SY1 1AA', 'CH1 1AA', 'M1 1AE' → False."""
    return postcode.area in AREAS or postcode.outward in DISTRICTS
