import { z } from 'zod'

/** `next` is only ever used through safeNext(); the bound keeps a hostile value cheap. */
export const loginQuerySchema = z.object({
  next: z.string().max(2048).optional(),
})

export const loginFormSchema = z.object({
  // the users file restricts usernames; here only bound the length, a wrong name is a wrong login
  username: z.string().max(256).optional(),
  password: z.string().min(1, 'enter your password').max(1024),
  _csrf: z.string().max(256).default(''),
  next: z.string().max(2048).optional(),
})
