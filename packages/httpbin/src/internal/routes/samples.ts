/**
 * Fixed documents served by `/json`, `/html`, `/xml` and `/encoding/utf8`
 * (the same documents as httpbin's, the UTF-8 sample shortened).
 *
 * @internal
 */

/** `/json`. */
export const JSON_SLIDESHOW = {
  slideshow: {
    author: "Yours Truly",
    date: "date of publication",
    slides: [
      { title: "Wake up to WonderWidgets!", type: "all" },
      {
        items: ["Why <em>WonderWidgets</em> are great", "Who <em>buys</em> WonderWidgets"],
        title: "Overview",
        type: "all"
      }
    ],
    title: "Sample Slide Show"
  }
}

/** `/xml`. */
export const XML = `<?xml version='1.0' encoding='us-ascii'?>

<!--  A SAMPLE set of slides  -->

<slideshow 
    title="Sample Slide Show"
    date="Date of publication"
    author="Yours Truly"
    >

    <!-- TITLE SLIDE -->
    <slide type="all">
      <title>Wake up to WonderWidgets!</title>
    </slide>

    <!-- OVERVIEW -->
    <slide type="all">
        <title>Overview</title>
        <item>Why <em>WonderWidgets</em> are great</item>
        <item/>
        <item>Who <em>buys</em> WonderWidgets</item>
    </slide>

</slideshow>`

/** `/html`. */
export const HTML = `<!DOCTYPE html>
<html>
  <head>
  </head>
  <body>
      <h1>Herman Melville - Moby-Dick</h1>

      <div>
        <p>
          Availing himself of the mild, summer-cool weather that now reigned in these latitudes, and in preparation for the peculiarly active pursuits shortly to be anticipated, Perth, the begrimed, blistered old blacksmith, had not removed his portable forge to the hold again, after concluding his contributory work for Ahab's leg, but still retained it on deck, fast lashed to ringbolts by the foremast; being now almost incessantly invoked by the headsmen, and harpooneers, and bowsmen to do some little job for them; altering, or repairing, or new shaping their various weapons and boat furniture.
        </p>
      </div>
  </body>
</html>`

/** `/encoding/utf8`. */
export const UTF8_DEMO = `<h1>Unicode Demo</h1>

<p>Taken from <a
href="http://www.cl.cam.ac.uk/~mgk25/ucs/examples/UTF-8-demo.txt">http://www.cl.cam.ac.uk/~mgk25/ucs/examples/UTF-8-demo.txt</a></p>

<pre>

UTF-8 encoded sample plain-text file
‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾

Mathematics and sciences:

  ∮ E⋅da = Q,  n → ∞, ∑ f(i) = ∏ g(i),      ⎧⎡⎛┌─────┐⎞⎤⎫
  ∀x∈ℝ: ⌈x⌉ = −⌊−x⌋, α ∧ ¬β = ¬(¬α ∨ β),    ⎪⎢⎜│a²+b³ ⎟⎥⎪

Linguistics and dictionaries:

  ði ıntəˈnæʃənəl fəˈnɛtık əsoʊsiˈeıʃn
  Y [ˈʏpsilɔn], Yen [jɛn], Yoga [ˈjoːgɑ]

Greek (in Polytonic):

  Σὲ γνωρίζω ἀπὸ τὴν κόψη
  τοῦ σπαθιοῦ τὴν τρομερή,

Russian:

  Зарегистрируйтесь сейчас на Десятую Международную Конференцию по

Thai:

  ๏ แผ่นดินฮั่นเสื่อมโทรมแสนสังเวช  พระปกเกศกองบู๊กู้ขึ้นใหม่

Japanese, Chinese, Korean:

  いろはにほへと ちりぬるを 色は匂へど 散りぬるを
  我能吞下玻璃而不伤身体。 나는 유리를 먹을 수 있어요.

Emoji (outside the BMP):

  🐍 🦀 ☕ 𝄞

</pre>
`
