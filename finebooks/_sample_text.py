"""Synthetic prose for the sample collection (:mod:`finebooks.sample`).

Everything here is FineBooks' own: small hand-written vocabularies per language (English,
French, German, Dutch, Latin), sentence templates with a little grammar (articles, German and
Latin cases, Dutch attributive adjectives) and a per-book "topic" weighting so that two books
share few word 5-grams. No third-party text is copied; the digitisation notices are written
in the style of the real ones, paraphrased.

The generator is deterministic for a given :class:`random.Random`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- vocabularies
# Words are space-separated strings split at import time, to keep the lists compact.


def _w(s: str) -> list[str]:
    return s.split()


def _c(s: str) -> list[str]:
    """Comma-separated entries (entries may contain spaces)."""
    return [x.strip() for x in s.split(",") if x.strip()]


EN = {
    "nouns": _w(
        "house garden river church village castle road field forest hill valley bridge harbour ship "
        "letter book window door table fire king queen soldier merchant farmer priest servant "
        "traveller stranger friend brother sister father mother daughter widow captain doctor lawyer "
        "clerk child horse dog bird tree stone wall tower gate market street town city country island "
        "coast shore mountain lake storm wind rain snow winter summer morning evening night hour voice "
        "face hand heart mind thought question answer story history matter purpose reason truth custom "
        "law war peace army battle fortune journey voyage estate mill inn chapel parish school college "
        "library manuscript map lamp candle clock cloak sword coin purse bread wine corn cattle sheep "
        "meadow orchard well cottage kitchen chamber hall staircase cellar garret carriage cart boat "
        "sail anchor compass lantern picture portrait song sermon prayer promise secret quarrel debt "
        "legacy wedding funeral harvest festival abbey quarry forge ferry chimney hedge pasture vicar "
        "squire miller weaver shepherd bishop pilgrim sailor fisherman innkeeper governess tutor"
    ),
    "adjectives": _w(
        "old young little great dark bright silent ancient narrow broad quiet cold warm grey green "
        "white black poor rich proud humble gentle honest strange common simple noble careful foolish "
        "wise weary eager distant lonely empty heavy sudden secret famous curious pleasant dreadful "
        "faithful patient cheerful melancholy solemn obscure remarkable considerable ordinary "
        "particular excellent unhappy handsome modest ruined crowded neglected sacred"
    ),
    "comp_adj": _w(
        "well-known old-fashioned half-forgotten self-evident ill-fated good-natured long-standing "
        "far-reaching weather-beaten hard-working broad-shouldered kind-hearted"
    ),
    "comp_noun": _w(
        "sea-coast market-place hill-side church-yard new-comer fellow-traveller brother-in-law "
        "water-mill fire-place sun-dial grave-digger cross-roads wine-merchant book-seller court-yard "
        "high-road store-house door-step"
    ),
    "verbs": _w(
        "saw found left took brought sought remembered visited described praised feared followed "
        "crossed carried watched opened closed entered built sold bought wrote read received admired "
        "observed examined restored abandoned defended discovered reached passed questioned obeyed "
        "forgot loved kept lost won named measured mended painted guarded approached considered"
    ),
    "intrans": _c(
        "returned, waited, laughed, wept, slept, hesitated, remained, departed, arrived, spoke, "
        "listened, smiled, rose, fell silent, paused, walked on, rode away, sailed, prayed, wandered, "
        "trembled, sighed, agreed, complained, died"
    ),
    "adverbs": _c(
        "slowly, quickly, often, seldom, never, always, again, perhaps, indeed, certainly, presently, "
        "gladly, silently, softly, hardly, truly, afterwards, together, alone, early, late, at length, "
        "at last, once more, in silence"
    ),
    "preps": _w("in near beyond behind before across upon under towards through beside above"),
    "openers": _c(
        "In the morning, At length, For many years, On the following day, Towards evening, "
        "Some time afterwards, In those days, When the winter came, As we have seen, Soon after, "
        "Not long before, Throughout the summer"
    ),
    "conj": _c("and, but, for, so that, yet, while, until, because"),
    "first": _w(
        "John William Thomas James Henry Edward Richard George Robert Charles Mary Anne Elizabeth "
        "Margaret Jane Sarah Catherine Eleanor Alice Martha Walter Hugh Agnes Edith"
    ),
    "last": _w(
        "Ashby Blackwood Carver Dunmore Ellery Fenwick Garside Hallam Ingleby Jessop Kendrew Lomax "
        "Marwood Netherton Oakes Pennock Quarles Redfern Stanway Thirlby Underhill Varley Whitlock "
        "Yardley Brackley Coulthard"
    ),
    "places": _w(
        "Ardmore Belhaven Carrowmere Eastholme Fallowfield Harrowdale Lindenford Northwick Oakhurst "
        "Penhallow Ravensworth Saltmarsh Thornbury Wyndholm Kestrelby Morrowdale Ashcombe Brinsley"
    ),
    "templates": [
        "{N} {V} {O} {R} {B}",
        "{H} {V} {O} and {I}",
        "{X}, {H} {I} {R} {B}",
        "{N} of {P} was {A} and {A}",
        "it was {a} {n}, and {N} {V} it {D}",
        "{H} {D} {V} {O} {R} {B}",
        "there was in {P} {a} {n} who {V} {O}",
        "{N} {I} {D}",
        "no one {V} {O} so {D} as {H}",
        "{N} {R} {B} had long been {A}",
        "{H} said that {N} {V} {O}",
        "{X}, {N} {V} {O}",
        "{N} was {A}, and {H} {V} {O} {R} {B}",
        "of all the people of {P}, {H} alone {V} {O}",
        "{N} and {N} {I} {R} {B}",
    ],
    "chapter_titles": ["Of the {n} and the {n}", "The {A} {n}", "{H} at {P}", "A {n} in {P}",
                       "How {H} {V} the {n}", "The {n} of {P}", "Concerning the {A} {n}"],
    "book_titles": ["The History of {P}", "A Voyage to {P}", "Memoirs of {H}", "Essays on the {A} {n}",
                    "The {A} {n}: A Tale", "Letters from {P}", "Observations on the {n} of {P}",
                    "An Account of the {n} of {P}", "Sketches of {P}"],
    "chapter": "CHAPTER",
    "preface": "PREFACE.",
    "by": "BY",
    "imprint": "{CITY}: PRINTED FOR {PUB} AND CO.",
    "cities": _w("LONDON EDINBURGH BRISTOL YORK NORWICH"),
    "language_name": "English",
}

FR = {
    "nouns": _c(
        "la maison, le jardin, la rivière, l'église, le village, le château, la route, le champ, la forêt, "
        "la colline, la vallée, le pont, le port, le navire, la lettre, le livre, la fenêtre, la porte, "
        "la table, le feu, le roi, la reine, le soldat, le marchand, le paysan, le prêtre, le serviteur, "
        "le voyageur, l'étranger, l'ami, le frère, la sœur, le père, la mère, la fille, la veuve, "
        "le capitaine, le médecin, le notaire, l'enfant, le cheval, le chien, l'oiseau, l'arbre, "
        "la pierre, le mur, la tour, la place, la rue, la ville, le pays, l'île, la côte, la montagne, "
        "le lac, l'orage, le vent, la pluie, la neige, l'hiver, l'été, le matin, le soir, la nuit, "
        "le jour, l'année, l'heure, la voix, le visage, la main, le cœur, la pensée, la question, "
        "la réponse, l'histoire, la raison, la vérité, la coutume, la loi, la guerre, la paix, l'armée, "
        "la bataille, la fortune, le voyage, le moulin, l'auberge, la chapelle, la paroisse, l'école, "
        "la bibliothèque, le manuscrit, la carte, la lampe, la bougie, l'horloge, le manteau, l'épée, "
        "le pain, le vin, le blé, le troupeau, la prairie, le verger, la chaumière, la cuisine, "
        "la chambre, la salle, l'escalier, la voiture, la barque, la voile, le portrait, la chanson, "
        "le sermon, la prière, la promesse, le secret, la querelle, la dette, la noce, la moisson, la fête"
    ),
    "comp_noun": _c(
        "le grand-père, la grand-mère, l'après-midi, le garde-chasse, le sous-préfet, le beau-frère, "
        "le chef-lieu, l'arc-en-ciel, le porte-monnaie"
    ),
    "adjectives": _w(
        "triste pauvre jeune sombre large riche simple rapide sage libre tranquille étrange célèbre "
        "immense magnifique paisible fidèle honnête aimable brave calme solitaire modeste vaste terrible "
        "sauvage humble noble austère fragile rustique antique mélancolique superbe utile agréable "
        "misérable sévère vide lugubre splendide remarquable véritable ordinaire"
    ),
    "verbs": _w(
        "vit trouva quitta prit apporta chercha visita décrivit loua craignit suivit traversa porta "
        "regarda ouvrit ferma bâtit vendit acheta écrivit lut reçut admira observa examina répara "
        "abandonna défendit découvrit atteignit garda aima perdit nomma peignit considéra salua"
    ),
    "intrans": _c(
        "revint, attendit, rit, pleura, dormit, hésita, demeura, partit, arriva, parla, écouta, sourit, "
        "tomba, s'arrêta, marcha, pria, erra, trembla, soupira, mourut"
    ),
    "adverbs": _c(
        "lentement, souvent, rarement, toujours, encore, peut-être, certes, aussitôt, doucement, enfin, "
        "ensemble, seul, tard, longtemps, vivement, tristement, gaiement, sans bruit, sans doute"
    ),
    "preps": _w("dans vers sur sous devant derrière avec parmi contre après"),
    "openers": _c(
        "Le lendemain, Vers le soir, Pendant longtemps, Ce jour-là, Quelque temps après, "
        "En ce temps-là, Au printemps, Comme nous l'avons vu, Dès le matin, Tout à coup"
    ),
    "conj": _c("et, mais, car, puis, cependant, tandis que"),
    "first": _w("Jean Pierre Louis Jacques François Henri Antoine Marie Jeanne Louise Madeleine Hélène"),
    "last": _w("Durand Lefebvre Moreau Girard Bonnet Dupuis Lambert Fontaine Chevalier Marchand Perrin "
               "Leclerc Garnier Faure"),
    "places": _w("Rouvray Beaumont Valmont Montfort Bellefontaine Rochemaure Villeneuve Fontenay "
                 "Saint-Aubin Clairvaux"),
    "templates": [
        "{N} {V} {O} {R} {B}",
        "{H} {V} {O} et {I}",
        "{X}, {H} {I} {R} {B}",
        "{N} de {P} était {A} et {A}",
        "c'était le temps où {N} {V} {O}",
        "{H} {V} {D} {O} {R} {B}",
        "il y avait à {P} {N} qui {V} {O}",
        "{N} {I} {D}",
        "{H} disait que {N} {V} {O}",
        "{X}, {N} {V} {O}",
        "{N} {R} {B} était {A}",
        "de tous les gens de {P}, {H} seul {V} {O}",
    ],
    "chapter_titles": ["{N} et {N}", "{H} à {P}", "Comment {H} {V} {O}", "{N} {A}"],
    "book_titles": ["Histoire de {P}", "Voyage à {P}", "Mémoires de {H}", "Lettres de {P}",
                    "Souvenirs de {P}", "Essai sur {N}"],
    "chapter": "CHAPITRE",
    "preface": "PRÉFACE.",
    "by": "PAR",
    "imprint": "{CITY}, CHEZ {PUB}, LIBRAIRE.",
    "cities": _w("PARIS LYON ROUEN GENÈVE"),
    "language_name": "French",
}

# German nouns: (noun, gender)
DE = {
    "nouns": [tuple(x.split(":")) for x in _w(
        "Garten:m Haus:n Fluss:m Kirche:f Dorf:n Schloss:n Weg:m Feld:n Wald:m Hügel:m Tal:n Brücke:f "
        "Hafen:m Schiff:n Brief:m Buch:n Fenster:n Tür:f Tisch:m Feuer:n König:m Königin:f Kaufmann:m "
        "Pfarrer:m Diener:m Freund:m Bruder:m Schwester:f Vater:m Mutter:f Tochter:f Witwe:f Kapitän:m "
        "Arzt:m Kind:n Pferd:n Hund:m Vogel:m Baum:m Stein:m Mauer:f Turm:m Tor:n Markt:m Straße:f "
        "Stadt:f Land:n Insel:f Küste:f Berg:m See:m Sturm:m Wind:m Regen:m Schnee:m Winter:m Sommer:m "
        "Morgen:m Abend:m Nacht:f Tag:m Jahr:n Stunde:f Stimme:f Gesicht:n Hand:f Frage:f Antwort:f "
        "Geschichte:f Sache:f Wahrheit:f Sitte:f Gesetz:n Krieg:m Heer:n Schlacht:f Glück:n Reise:f "
        "Mühle:f Wirtshaus:n Kapelle:f Schule:f Bibliothek:f Handschrift:f Karte:f Lampe:f Kerze:f "
        "Uhr:f Mantel:m Schwert:n Brot:n Wein:m Korn:n Wiese:f Hütte:f Küche:f Kammer:f Saal:m "
        "Treppe:f Keller:m Wagen:m Boot:n Segel:n Bild:n Lied:n Predigt:f Gebet:n Geheimnis:n "
        "Streit:m Hochzeit:f Ernte:f Fest:n Förster:m Müller:m Schmied:m Pilger:m"
    )],
    "adjectives": _w(
        "alt jung klein groß hell still eng breit ruhig kalt warm grau grün weiß schwarz arm reich "
        "stolz sanft ehrlich seltsam einfach weise müde fern einsam leer schwer berühmt neugierig "
        "angenehm schrecklich treu geduldig heiter feierlich merkwürdig gewöhnlich unglücklich schön "
        "bescheiden heilig fremd tief lang kurz froh traurig wild frisch"
    ),
    "verbs": _w(
        "sah fand verließ nahm brachte suchte besuchte beschrieb lobte fürchtete trug beobachtete "
        "öffnete schloss baute verkaufte kaufte schrieb las empfing bewunderte untersuchte verteidigte "
        "entdeckte erreichte liebte behielt verlor gewann nannte malte bewachte betrachtete grüßte"
    ),
    "intrans": _c(
        "kehrte zurück, wartete, lachte, weinte, schlief, zögerte, blieb, reiste ab, kam an, sprach, "
        "horchte, lächelte, fiel, ging fort, ritt davon, segelte, betete, wanderte, zitterte, seufzte, starb"
    ),
    "adverbs": _c(
        "langsam, schnell, oft, selten, nie, immer, wieder, vielleicht, gewiss, sogleich, gern, leise, "
        "kaum, wahrhaftig, nachher, zusammen, allein, früh, spät, endlich, noch einmal"
    ),
    "preps": _w("in mit aus bei nach von vor hinter neben unter über"),
    "openers": _c(
        "Am Morgen, Endlich, Viele Jahre lang, Am folgenden Tage, Gegen Abend, Einige Zeit später, "
        "In jenen Tagen, Dann, Bald darauf, Den ganzen Sommer"
    ),
    "conj": _c("und, aber, denn, doch"),
    "first": _w("Johann Friedrich Wilhelm Karl Heinrich Georg Ludwig Anna Maria Elisabeth Margarethe "
                "Katharina"),
    "last": _w("Müller Schneider Fischer Weber Wagner Becker Hoffmann Schäfer Koch Richter Klein Wolf "
               "Neumann Braun Zimmermann"),
    "places": _w("Lindenau Rosenthal Falkenberg Steinbach Waldheim Birkenfeld Hohenau Eichstädt "
                 "Grünwald Schönberg"),
    "templates": [
        "{N} {V} {O} {R} {B}",
        "{H} {V} {O} und {I}",
        "{X} {V} {H} {O} {R} {B}",
        "{N} von {P} war {A} und {A}",
        "{H} {V} {D} {O}",
        "{H} sagte, dass {N} {O} {V}",
        "{N} {I} {D}",
        "{N} {R} {B} war {A}",
        "niemand {V} {O} so {D} wie {H}",
        "{X} {I} {N} {D}",
        "in {P} lebte {N}, und {H} {V} {O}",
    ],
    "chapter_titles": ["{N} und {N}", "{H} in {P}", "Wie {H} {O} {V}", "Von {B}"],
    "book_titles": ["Geschichte von {P}", "Reise nach {P}", "Erinnerungen an {H}", "Briefe aus {P}",
                    "Bilder aus {P}", "Erzählungen aus {P}"],
    "chapter": "KAPITEL",
    "preface": "VORREDE.",
    "by": "VON",
    "imprint": "{CITY}, VERLAG VON {PUB}.",
    "cities": _w("LEIPZIG BERLIN STUTTGART MÜNCHEN"),
    "language_name": "German",
}

# Dutch nouns with their article; adjectives as (predicative, attributive) pairs
NL = {
    "nouns": _c(
        "de tuin, het huis, de rivier, de kerk, het dorp, het kasteel, de weg, het veld, het bos, "
        "de heuvel, het dal, de brug, de haven, het schip, de brief, het boek, het venster, de deur, "
        "de tafel, het vuur, de koning, de koningin, de soldaat, de koopman, de boer, de priester, "
        "de knecht, de reiziger, de vreemdeling, de vriend, de broeder, de zuster, de vader, de moeder, "
        "de dochter, de weduwe, de kapitein, de dokter, het kind, het paard, de hond, de vogel, de boom, "
        "de steen, de muur, de toren, de poort, de markt, de straat, de stad, het land, het eiland, "
        "de kust, de berg, het meer, de storm, de wind, de regen, de sneeuw, de winter, de zomer, "
        "de morgen, de avond, de nacht, de dag, het jaar, het uur, de stem, het gezicht, de hand, "
        "het hart, de gedachte, de vraag, het antwoord, de geschiedenis, de waarheid, de wet, de oorlog, "
        "de vrede, het leger, het geluk, de reis, de molen, de herberg, de kapel, de school, de kaart, "
        "de lamp, de kaars, de klok, de mantel, het zwaard, het brood, de wijn, het koren, de weide, "
        "de boomgaard, de hut, de keuken, de kamer, de zaal, de trap, de kelder, de wagen, de boot, "
        "het zeil, het schilderij, het lied, de preek, het gebed, de belofte, het geheim, de twist, "
        "de bruiloft, de oogst, het feest, de visser, de schipper, de molenaar"
    ),
    "adjectives": [tuple(x.split(":")) for x in _w(
        "oud:oude jong:jonge klein:kleine groot:grote donker:donkere stil:stille smal:smalle "
        "breed:brede rustig:rustige koud:koude warm:warme grijs:grijze groen:groene wit:witte "
        "zwart:zwarte arm:arme rijk:rijke trots:trotse zacht:zachte eerlijk:eerlijke vreemd:vreemde "
        "eenvoudig:eenvoudige wijs:wijze eenzaam:eenzame leeg:lege zwaar:zware beroemd:beroemde "
        "aangenaam:aangename trouw:trouwe geduldig:geduldige vrolijk:vrolijke plechtig:plechtige "
        "merkwaardig:merkwaardige gewoon:gewone ongelukkig:ongelukkige schoon:schone heilig:heilige "
        "diep:diepe lang:lange kort:korte blij:blije treurig:treurige wild:wilde"
    )],
    "verbs": _w(
        "zag vond verliet nam bracht zocht bezocht beschreef prees vreesde volgde droeg bekeek opende "
        "sloot bouwde verkocht kocht schreef las ontving bewonderde onderzocht verdedigde ontdekte "
        "bereikte beminde hield verloor won noemde schilderde bewaakte groette"
    ),
    "intrans": _c(
        "keerde terug, wachtte, lachte, weende, sliep, aarzelde, bleef, vertrok, kwam aan, sprak, "
        "luisterde, glimlachte, viel, wandelde, reed weg, zeilde, bad, dwaalde, beefde, zuchtte, stierf"
    ),
    "adverbs": _c(
        "langzaam, snel, dikwijls, zelden, nooit, altijd, weer, misschien, zeker, dadelijk, gaarne, "
        "zachtjes, nauwelijks, waarlijk, later, samen, alleen, vroeg, laat, eindelijk, nog eens"
    ),
    "preps": _w("in bij naast achter voor onder boven naar met uit over"),
    "openers": _c(
        "In de morgen, Eindelijk, Vele jaren lang, De volgende dag, Tegen de avond, Enige tijd later, "
        "In die dagen, Toen, Kort daarna, De hele zomer"
    ),
    "conj": _c("en, maar, want, doch"),
    "first": _w("Jan Pieter Willem Hendrik Cornelis Dirk Maria Johanna Grietje Anna Aaltje Gerrit"),
    "last": _w("Bakker Visser Smit Meijer Mulder Bos Vos Peters Hendriks Dekker Brouwer Verhoeven "
               "Kuiper Jansen"),
    "places": _w("Oosterwijk Heemsteede Westerhout Ouddorp Nieuwland Lindendaal Bergeijk Waterland "
                 "Veenhuizen Zuiderhoek"),
    "templates": [
        "{N} {V} {O} {R} {B}",
        "{H} {V} {O} en {I}",
        "{X} {V} {H} {O} {R} {B}",
        "{N} van {P} was {A} en {A}",
        "{H} {V} {D} {O}",
        "{H} zei dat {N} {O} {V}",
        "{N} {I} {D}",
        "{N} {R} {B} was {A}",
        "niemand {V} {O} zo {D} als {H}",
        "{X} {I} {N} {D}",
        "in {P} woonde {N}, en {H} {V} {O}",
    ],
    "chapter_titles": ["{N} en {N}", "{H} te {P}", "Hoe {H} {O} {V}", "Van {B}"],
    "book_titles": ["Geschiedenis van {P}", "Reis naar {P}", "Herinneringen van {H}", "Brieven uit {P}",
                    "Schetsen uit {P}", "Verhalen uit {P}"],
    "chapter": "HOOFDSTUK",
    "preface": "VOORREDE.",
    "by": "DOOR",
    "imprint": "{CITY}, BIJ {PUB}.",
    "cities": _w("AMSTERDAM LEIDEN HAARLEM UTRECHT"),
    "language_name": "Dutch",
}

# Latin nouns: nominative, accusative, ablative
LA = {
    "nouns": [tuple(x.split(":")) for x in _w(
        "rex:regem:rege puer:puerum:puero urbs:urbem:urbe domus:domum:domo hortus:hortum:horto "
        "flumen:flumen:flumine templum:templum:templo villa:villam:villa castellum:castellum:castello "
        "via:viam:via ager:agrum:agro silva:silvam:silva collis:collem:colle vallis:vallem:valle "
        "pons:pontem:ponte portus:portum:portu navis:navem:nave epistula:epistulam:epistula "
        "liber:librum:libro fenestra:fenestram:fenestra porta:portam:porta mensa:mensam:mensa "
        "ignis:ignem:igne regina:reginam:regina miles:militem:milite mercator:mercatorem:mercatore "
        "agricola:agricolam:agricola sacerdos:sacerdotem:sacerdote servus:servum:servo "
        "peregrinus:peregrinum:peregrino amicus:amicum:amico frater:fratrem:fratre soror:sororem:sorore "
        "pater:patrem:patre mater:matrem:matre filia:filiam:filia dux:ducem:duce medicus:medicum:medico "
        "equus:equum:equo canis:canem:cane avis:avem:ave arbor:arborem:arbore lapis:lapidem:lapide "
        "murus:murum:muro turris:turrim:turri forum:forum:foro insula:insulam:insula litus:litus:litore "
        "mons:montem:monte lacus:lacum:lacu tempestas:tempestatem:tempestate ventus:ventum:vento "
        "hiems:hiemem:hieme nox:noctem:nocte dies:diem:die annus:annum:anno vox:vocem:voce "
        "manus:manum:manu animus:animum:animo bellum:bellum:bello pax:pacem:pace "
        "exercitus:exercitum:exercitu proelium:proelium:proelio fortuna:fortunam:fortuna "
        "iter:iter:itinere schola:scholam:schola gladius:gladium:gladio panis:panem:pane "
        "vinum:vinum:vino frumentum:frumentum:frumento carmen:carmen:carmine lex:legem:lege "
        "veritas:veritatem:veritate historia:historiam:historia consilium:consilium:consilio "
        "senatus:senatum:senatu populus:populum:populo civis:civem:cive natura:naturam:natura "
        "scientia:scientiam:scientia ratio:rationem:ratione"
    )],
    "verbs": _c(
        "vidit, invenit, reliquit, cepit, attulit, quaesivit, descripsit, laudavit, timuit, transiit, "
        "portavit, spectavit, aperuit, clausit, aedificavit, vendidit, emit, scripsit, legit, accepit, "
        "observavit, restituit, defendit, repperit, amavit, servavit, amisit, vicit, appellavit, "
        "custodivit, rexit, oppugnavit, delevit, condidit, mutavit, dedit, rogavit, salutavit"
    ),
    "intrans": _c(
        "rediit, exspectavit, risit, flevit, dormivit, dubitavit, mansit, discessit, advenit, "
        "locutus est, subrisit, cecidit, ambulavit, equitavit, navigavit, oravit, erravit, tremuit, "
        "suspiravit, obiit"
    ),
    "adverbs": _c(
        "lente, celeriter, saepe, raro, numquam, semper, iterum, fortasse, certe, statim, libenter, "
        "tacite, vix, vere, postea, una, solus, mane, sero, tandem, denuo"
    ),
    "preps": _w("in cum ex de sub pro sine"),
    "openers": _c("Eo tempore, Postero die, Multos annos, Sub vesperum, Paulo post, Illis diebus, "
                  "Tum, Deinde, Hieme ineunte, Primo vere"),
    "conj": _c("et, sed, nam, itaque"),
    "first": _w("Johannes Petrus Henricus Jacobus Gulielmus Nicolaus Andreas Carolus"),
    "last": _w("Faber Molitor Pistor Sartorius Textor Agricola Mercator Piscator Venator Lambertus"),
    "persons": _w("Marcus Lucius Gaius Publius Quintus Titus Aulus Sextus Cornelius Valerius Fabius "
                  "Claudius"),
    "places": _w("Novaria Placentia Verona Ravenna Aquileia Mantua Cremona Genua Luca Bononia"),
    "templates": [
        "{N} {O} {R} {B} {V}",
        "{H} {O} {V} et {I}",
        "{X} {H} {R} {B} {I}",
        "{H} {D} {O} {V}",
        "{N} {D} {I}",
        "in {P} erat {N} qui {O} {V}",
        "{H} dixit {N} {O} {V}",
        "{X} {N} {O} {D} {V}",
        "nemo {O} {D} {V} nisi {H}",
        "{N} et {N} {R} {B} {I}",
    ],
    "chapter_titles": ["De {B}", "De {B} et {B}", "{H} in {P}"],
    "book_titles": ["De {B} libri tres", "Commentarius de {B}", "De {B} et {B}", "Dissertatio de {B}"],
    "chapter": "CAPUT",
    "preface": "PRAEFATIO.",
    "by": "AUCTORE",
    "imprint": "{CITY}, APUD {PUB}.",
    "cities": _w("AMSTELODAMI LUGDUNI PARISIIS VENETIIS"),
    "language_name": "Latin",
}

LEXICONS = {"en": EN, "fr": FR, "de": DE, "nl": NL, "la": LA}
LANGUAGES = tuple(LEXICONS)

_DE_ART = {"nom": {"m": "der", "f": "die", "n": "das"},
           "acc": {"m": "den", "f": "die", "n": "das"},
           "dat": {"m": "dem", "f": "der", "n": "dem"}}


def _de_adj(stem: str, case: str, gender: str) -> str:
    """Weak adjective ending after a definite article."""
    if case == "dat" or (case == "acc" and gender == "m"):
        return stem + "en"
    return stem + "e"


def _zipf_cum(n: int, s: float = 0.6) -> list[float]:
    out, acc = [], 0.0
    for i in range(n):
        acc += 1.0 / (i + 1) ** s
        out.append(acc)
    return out


@dataclass
class BookVoice:
    """A book's own vocabulary weighting, characters and places (keeps books apart)."""

    lang: str
    nouns: list
    noun_cum: list[float]
    adjectives: list
    adj_cum: list[float]
    verbs: list[str]
    verb_cum: list[float]
    persons: list[str]
    places: list[str]
    extra: dict = field(default_factory=dict)


def make_voice(lang: str, rng: random.Random) -> BookVoice:
    lx = LEXICONS[lang]
    nouns = list(lx["nouns"])
    rng.shuffle(nouns)
    adjs = list(lx.get("adjectives", [])) or [""]
    rng.shuffle(adjs)
    verbs = list(lx["verbs"])
    rng.shuffle(verbs)
    if lang == "la":
        persons = rng.sample(lx["persons"], 5)
    else:
        persons = [f"{f} {ln}" if rng.random() < 0.3 else ln if rng.random() < 0.5 else f
                   for f, ln in zip(rng.sample(lx["first"], 5), rng.sample(lx["last"], 5))]
    places = rng.sample(lx["places"], 3)
    return BookVoice(lang, nouns, _zipf_cum(len(nouns)), adjs, _zipf_cum(len(adjs), 0.5), verbs,
                     _zipf_cum(len(verbs), 0.4), persons, places)


class ProseGenerator:
    """Sentences, paragraphs and titles in one language, for one book."""

    def __init__(self, lang: str, rng: random.Random, voice: BookVoice | None = None):
        self.lang = lang
        self.lx = LEXICONS[lang]
        self.rng = rng
        self.voice = voice or make_voice(lang, rng)

    # ---------------------------------------------------------------- slots
    def _noun(self):
        v = self.voice
        return self.rng.choices(v.nouns, cum_weights=v.noun_cum)[0]

    def _adj(self):
        v = self.voice
        return self.rng.choices(v.adjectives, cum_weights=v.adj_cum)[0]

    def np(self, case: str = "nom") -> str:
        """A definite noun phrase, sometimes with an adjective (case: nom/acc/dat)."""
        r, lang = self.rng, self.lang
        with_adj = r.random() < 0.45
        if lang == "en":
            if self.lx["comp_noun"] and r.random() < 0.05:
                return "the " + r.choice(self.lx["comp_noun"])
            if with_adj:
                adj = r.choice(self.lx["comp_adj"]) if r.random() < 0.08 else self._adj()
                return f"the {adj} {self._noun()}"
            return "the " + self._noun()
        if lang == "fr":
            if r.random() < 0.05:
                return r.choice(self.lx["comp_noun"])
            noun = self._noun()
            return f"{noun} {self._adj()}" if with_adj else noun
        if lang == "de":
            noun, gender = self._noun()
            art = _DE_ART[case][gender]
            if with_adj:
                return f"{art} {_de_adj(self._adj(), case, gender)} {noun}"
            return f"{art} {noun}"
        if lang == "nl":
            noun = self._noun()
            if with_adj:
                art, _, bare = noun.partition(" ")
                return f"{art} {self._adj()[1]} {bare}"
            return noun
        # Latin: no articles; the case picks the form
        forms = self._noun()
        return forms[{"nom": 0, "acc": 1, "dat": 2}[case]]

    def bare_noun(self) -> str:
        n = self._noun()
        if self.lang == "de":
            return n[0]
        if self.lang == "la":
            return n[0]
        if self.lang in ("fr", "nl"):
            return n.split(" ", 1)[-1].split("'", 1)[-1]
        return n

    def adjective(self) -> str:
        a = self._adj()
        return a[0] if isinstance(a, tuple) else a

    def fill(self, template: str) -> str:
        r = self.rng
        lx = self.lx

        def repl(m: re.Match) -> str:
            slot = m.group(1)
            if slot == "N":
                return self.np("nom")
            if slot == "O":
                return self.np("acc")
            if slot == "B":
                return self.np("dat")
            if slot == "n":
                return self.bare_noun()
            if slot == "a":  # English indefinite article + adjective
                adj = self._adj()
                return ("an " if adj[0] in "aeiou" else "a ") + adj
            if slot == "A":
                return self.adjective()
            if slot == "V":
                return r.choices(self.voice.verbs, cum_weights=self.voice.verb_cum)[0]
            if slot == "I":
                return r.choice(lx["intrans"])
            if slot == "D":
                return r.choice(lx["adverbs"])
            if slot == "R":
                return r.choice(lx["preps"])
            if slot == "P":
                return r.choice(self.voice.places)
            if slot == "H":
                return r.choice(self.voice.persons)
            if slot == "X":
                return r.choice(lx["openers"])
            raise KeyError(slot)

        return re.sub(r"\{(\w)\}", repl, template)

    # ---------------------------------------------------------------- text units
    def clause(self, first: bool = True) -> str:
        templates = self.lx["templates"]
        if not first:  # an opener ("In the morning") only starts a sentence
            templates = [t for t in templates if not t.startswith("{X}")]
        return self.fill(self.rng.choice(templates))

    def sentence(self) -> str:
        r = self.rng
        s = self.clause()
        if r.random() < 0.35:
            conj = r.choice(self.lx["conj"])
            s = f"{s}, {conj} {self.clause(first=False)}"
        s = s[0].upper() + s[1:]
        return s + ("!" if r.random() < 0.04 else ".")

    def paragraph(self, n_min: int = 3, n_max: int = 7) -> list[str]:
        """A paragraph as a list of words (tokens split on spaces)."""
        n = self.rng.randint(n_min, n_max)
        return " ".join(self.sentence() for _ in range(n)).split()

    def title(self) -> str:
        t = self.fill(self.rng.choice(self.lx["book_titles"]))
        return t[0].upper() + t[1:]

    def chapter_title(self) -> str:
        t = self.fill(self.rng.choice(self.lx["chapter_titles"]))
        return t[0].upper() + t[1:]

    def author(self) -> str:
        lx = self.lx
        return f"{self.rng.choice(lx['first'])} {self.rng.choice(lx['last'])}"

    def imprint(self) -> str:
        lx = self.lx
        pub = self.rng.choice(lx["last"]).upper()
        return lx["imprint"].format(CITY=self.rng.choice(lx["cities"]), PUB=pub)


# --------------------------------------------------------------------------- numbers


def roman(n: int) -> str:
    """Upper-case Roman numeral (1..3999)."""
    vals = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
            (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = []
    for v, s in vals:
        while n >= v:
            out.append(s)
            n -= v
    return "".join(out)


# --------------------------------------------------------------------------- long s

LONG_S = "ſ"


def to_long_s(word: str) -> str:
    """Print a word with the long s, by a simple rule.

    A lower-case ``s`` becomes ``ſ`` when the next character is a letter other than ``f``,
    ``b`` or ``k``: so word-final ``s`` (and ``s`` before punctuation, a hyphen or an
    apostrophe) stays round, ``business`` -> ``buſineſs``, ``himself`` -> ``himſelf``,
    ``satisfy`` -> ``ſatisfy``. Upper-case ``S`` never changes.
    """
    out = []
    for i, ch in enumerate(word):
        nxt = word[i + 1] if i + 1 < len(word) else ""
        out.append(LONG_S if ch == "s" and nxt.isalpha() and nxt not in "fbk" else ch)
    return "".join(out)


# --------------------------------------------------------------------------- OCR noise

#: character confusions of OCR engines (source -> printed); two-letter sources are tried first
CONFUSIONS = {
    "rn": "m", "m": "rn", "cl": "d", "e": "c", "c": "e", "l": "1", "i": "l", "h": "b",
    "u": "n", "n": "u", "o": "0", "a": "o", "t": "f", "f": "t", "s": "8",
}


def ocr_noise(word: str, rate: float, rng: random.Random) -> tuple[str, int]:
    """Apply OCR confusions to ``word``: each letter position is hit with probability ``rate``.

    Returns ``(noisy_word, n_substitutions)``. Positions without a known confusion stay as
    they are, so the realised rate is a little below ``rate``.
    """
    out, i, n = [], 0, 0
    while i < len(word):
        if word[i].isalpha() and rng.random() < rate:
            two = word[i:i + 2]
            if two in CONFUSIONS:
                out.append(CONFUSIONS[two])
                i += 2
                n += 1
                continue
            if word[i] in CONFUSIONS:
                out.append(CONFUSIONS[word[i]])
                i += 1
                n += 1
                continue
        out.append(word[i])
        i += 1
    return "".join(out), n


# --------------------------------------------------------------------------- page noise

_GARBAGE_CHARS = ".,;:'`\"-~_^|/\\()!*il1I"


def garbage_lines(rng: random.Random, n_lines: int) -> list[str]:
    """OCR noise from an engraved plate: short runs of punctuation and stray letters."""
    lines = []
    for _ in range(n_lines):
        toks = []
        for _ in range(rng.randint(2, 11)):
            k = rng.randint(1, 4)
            chars = []
            for _ in range(k):
                chars.append(rng.choice(_GARBAGE_CHARS) if rng.random() < 0.7
                             else rng.choice("abcdefghijklmnopqrstuvwxyzAEIMNRSTW"))
            toks.append("".join(chars))
        lines.append(" ".join(toks))
    return lines


# --------------------------------------------------------------------------- notices
# Written in the style of the real notices, in FineBooks' own words.

GOOGLE_NOTICE = (
    "About this digital copy. This volume stood on the shelves of a library for many years "
    "before it was scanned by Google as part of a programme to let people discover printed books "
    "online. It is old enough that its copyright has run out, so it now belongs to the public "
    "domain and to all of us. Pencil marks, stamps and other traces left by earlier readers have "
    "been kept, because they are part of the history of the book. Google asks that you use this "
    "file for personal and non-commercial purposes, that you do not send automated queries, that "
    "you keep the attribution watermark on each page, and that you make sure your use is lawful "
    "in your own country. The full text of this and other books can be searched on the web at "
    "books.google.com."
)

GOOGLE_WATERMARK = "Digitized by Google"

IA_FUNDERS = [
    "University of Ardmore Libraries", "The Carrowmere Public Library Trust",
    "Lindenford College Library", "the Belhaven Historical Society",
]


def ia_notice(year: int, funder: str, ia_id: str) -> list[str]:
    """The Internet Archive's scan stamp (one block of lines)."""
    return [
        "Digitized by the Internet Archive",
        f"in {year} with funding from",
        funder,
        "",
        f"http://www.archive.org/details/{ia_id}",
    ]


def gutenberg_header(title: str, author: str, ebook_no: int, language: str) -> list[str]:
    return [
        f"The Project Gutenberg EBook of {title}, by {author}",
        "",
        "This eBook may be used by anyone, anywhere, at no cost and with hardly any",
        "restrictions. You may copy it, give it away or re-use it under the terms of",
        "the Project Gutenberg License included with this eBook.",
        "",
        f"Title: {title}",
        f"Author: {author}",
        f"Release Date: March, 2004 [EBook #{ebook_no}]",
        f"Language: {language}",
        "Character set encoding: UTF-8",
        "",
        f"*** START OF THIS PROJECT GUTENBERG EBOOK {title.upper()} ***",
    ]


def gutenberg_footer(title: str, ebook_no: int) -> list[str]:
    return [
        f"End of the Project Gutenberg EBook of {title}",
        "",
        f"*** END OF THIS PROJECT GUTENBERG EBOOK {title.upper()} ***",
        "",
        f"This file should be named {ebook_no}-8.txt or {ebook_no}-8.zip",
        "",
        "Updated editions replace the earlier ones, and the old editions are",
        "renamed. Because no one holds a United States copyright in these works,",
        "the Foundation may copy and distribute them in the United States without",
        "permission and without paying royalties; special rules, set out in the",
        "General Terms of Use, apply to copying and distributing the eBooks and",
        "to the use of the Project Gutenberg trademark.",
    ]
