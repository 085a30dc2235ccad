// Debian's chromium driven by puppeteer-core (which downloads no browser): .ci/run installs it.
import fs from 'node:fs'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

type Teardown = { teardown: (fn: () => Promise<void> | void) => void }

/** A headless chromium (closed at teardown) and a page of the given viewport. */
export async function openBrowser (t: Teardown, viewport = { width: 1280, height: 900 }): Promise<{ browser: Browser, page: Page }> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`)
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'], headless: true })
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage()
  await page.setViewport(viewport)
  return { browser, page }
}

/** Every element with an id and a data-value on the page: id -> its raw value. */
export async function pageValues (page: Page): Promise<Record<string, string>> {
  return await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('[id][data-value]')].map((e) => [e.id, e.getAttribute('data-value') ?? ''])))
}
