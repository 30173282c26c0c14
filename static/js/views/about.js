// /about: a static page (the credits); nothing to fetch or draw.

export function mount() {}
